"""The one exception type whose message is meant for a person.

Every error a user can cause (a bad file, an unknown ticker, a diverging loss...) is raised as a
subclass of :class:`StockappError` with one clear sentence as its message. The CLI prints that
sentence and exits with status 2; the GUI shows it in a dialog or the status bar. Anything else
is a bug.
"""


class StockappError(Exception):
    """An error whose ``str()`` is one sentence fit to show to a user."""


class DataError(StockappError):
    """Prices could not be loaded or are unusable."""


class ModelError(StockappError):
    """A model could not be trained, saved, loaded or applied."""


class TrainingDiverged(ModelError):
    """The training loss became NaN or infinite."""


class BacktestError(StockappError):
    """A backtest could not be run or a saved run could not be opened."""


class AmbiguousDates(DataError):
    """A CSV's dates read both day first and month first and the file does not tell which.

    Besides the sentence, it carries what a window needs to ask the person: an example date as
    written and what it means read each way.
    """

    def __init__(self, message: str, example: str, day_first: str, month_first: str) -> None:
        super().__init__(message)
        self.example = example
        #: e.g. "day first: 1 February 1999"
        self.day_first_example = day_first
        #: e.g. "month first: 2 January 1999"
        self.month_first_example = month_first
