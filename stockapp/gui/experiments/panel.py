"""The Experiment settings page: which series, which values of each setting, seeds and engine.

The page only reads and checks what was typed; :meth:`ExperimentsPanel.choices` turns it into
an :class:`ExperimentChoices` or raises one sentence naming the field and what it takes. The run
belongs to :class:`~stockapp.gui.experiments.adapter.ExperimentsController`.
"""

from __future__ import annotations

import importlib.util

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from stockapp.core.ray_address import ray_endpoint
from stockapp.core.sweep_search import Search
from stockapp.errors import StockappError
from stockapp.gui.widgets.run_controls import RunControls
from stockapp.session.experiments import ExperimentChoices
from stockapp.session.grid import BY_NAME, parse_seeds

__all__ = ["ENGINES", "ExperimentChoices", "ExperimentsPanel"]

#: Engines offered: label -> the name :func:`stockapp.models.sweep.run_sweep` takes.
ENGINES = {
    "local (worker processes)": "local",
    "in this process": "inline",
    "Ray": "ray",
}
#: The settings the page varies, and the values it starts with.
DEFAULTS = {
    "model": "lstm,gru",
    "window": "20,60",
    "hidden": "64",
    "layers": "2",
    "dropout": "0.2",
    "lr": "5e-4",
}
GRID_FIELDS = tuple(BY_NAME[name] for name in DEFAULTS)
#: Searches offered: label -> the ``--search`` name (TPE only where Optuna is installed).
SEARCHES = {
    "every combination (grid)": "grid",
    "random, N trials": "random",
    "TPE (Optuna), N trials": "tpe",
}


def ray_available() -> bool:
    return importlib.util.find_spec("ray") is not None


def optuna_available() -> bool:
    return importlib.util.find_spec("optuna") is not None


class ExperimentsPanel(QWidget):
    """Series, values to try, seeds and engine, with Run/Cancel and overall progress."""

    run_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, sample_names: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sample_list = QListWidget()
        for name in sample_names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name == "AAPL" else Qt.CheckState.Unchecked)
            self.sample_list.addItem(item)
        rows = max(1, min(len(sample_names), 6))
        self.sample_list.setFixedHeight(rows * self.sample_list.sizeHintForRow(0) + 6)
        self.csv_edit = QLineEdit()
        self.csv_edit.setPlaceholderText("CSV files, separated by ;")
        self.csv_button = QPushButton("Add…")
        self.csv_button.clicked.connect(self._add_csv)
        self.ticker_edit = QLineEdit()
        self.ticker_edit.setPlaceholderText("e.g. AAPL, MSFT (downloaded)")
        csv_row = QHBoxLayout()
        csv_row.addWidget(self.csv_edit, 1)
        csv_row.addWidget(self.csv_button)
        series_box = QGroupBox("Series")
        series_form = QFormLayout(series_box)
        series_form.addRow(self.sample_list)
        series_form.addRow("CSV files", csv_row)
        series_form.addRow("Tickers", self.ticker_edit)

        self.grid_edits: dict[str, QLineEdit] = {}
        # A group box's title sets its minimum width: the long words go in a wrapped line
        # under it, or the page is wider than the side panel at 1280x800 and cut off.
        grid_box = QGroupBox("Values to try")
        grid_form = QFormLayout(grid_box)
        how = QLabel("Comma-separated values; low:high[:log] ranges for a random or TPE search.")
        how.setObjectName("hint")
        how.setWordWrap(True)
        grid_form.addRow(how)
        for f in GRID_FIELDS:
            edit = QLineEdit(DEFAULTS[f.name])
            tip = f"{f.label}: {f.what}, separated by commas"
            if f.kind is not str:
                tip += ", or a range such as 8:64 or 1e-4:1e-2:log for a random or TPE search"
            edit.setToolTip(tip + ".")
            self.grid_edits[f.name] = edit
            grid_form.addRow(f.label, edit)
        self.search_combo = QComboBox()
        for label, search in SEARCHES.items():
            if search != "tpe" or optuna_available():
                self.search_combo.addItem(label, search)
        self.search_combo.setToolTip(
            "Every configuration tried is counted in the Holm adjustments and in SPA, however it "
            "was picked; TPE is steered by the selection span's scores only."
        )
        self.trials_spin = QSpinBox()
        self.trials_spin.setRange(1, 10000)
        self.trials_spin.setValue(20)
        self.trials_spin.setToolTip("How many configurations a random or TPE search tries.")
        self.search_combo.currentIndexChanged.connect(self._search_changed)
        grid_form.addRow("Search", self.search_combo)
        self.trials_label = QLabel("Trials")
        grid_form.addRow(self.trials_label, self.trials_spin)
        self._search_changed()

        self.seeds_edit = QLineEdit("0-2")
        self.seeds_edit.setToolTip("Seeds: a range like 0-2 or a list like 0,2,5.")
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 1000)
        self.epochs_spin.setValue(20)
        self.test_spin = QDoubleSpinBox()
        self.test_spin.setRange(5.0, 45.0)
        self.test_spin.setSuffix(" %")
        self.test_spin.setValue(20.0)
        self.test_spin.setToolTip(
            "The last share of each series is the test span; as much again before it is the "
            "selection span on which the configuration is chosen."
        )
        self.engine_combo = QComboBox()
        for label, engine in ENGINES.items():
            if engine != "ray" or ray_available():
                self.engine_combo.addItem(label, engine)
        self.ray_edit = QLineEdit()
        self.ray_edit.setPlaceholderText("empty: a Ray on this machine")
        self.ray_edit.setToolTip(
            "A Ray cluster to join: host:port of its head (6379 by default), ray://host:10001 or "
            "auto. Where nothing answers, the run stops with one sentence within seconds."
        )
        self.engine_combo.currentIndexChanged.connect(self._engine_changed)
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("a new folder in the runs folder")
        self.out_edit.setToolTip(
            "Give the folder of an earlier experiment to resume it: finished runs are skipped."
        )
        runs_box = QGroupBox("Runs")
        runs_form = QFormLayout(runs_box)
        runs_form.addRow("Seeds", self.seeds_edit)
        runs_form.addRow("Epochs", self.epochs_spin)
        runs_form.addRow("Test span", self.test_spin)
        runs_form.addRow("Engine", self.engine_combo)
        self.ray_label = QLabel("Ray address")
        runs_form.addRow(self.ray_label, self.ray_edit)
        runs_form.addRow("Folder", self.out_edit)
        self._engine_changed()

        self.count_label = QLabel()
        self.count_label.setObjectName("hint")
        self.count_label.setWordWrap(True)
        self.controls = RunControls(
            "Run experiment",
            "Backtest every combination of the values on every series, once per seed.",
            "Stop after the runs under way; finished runs are kept and shown.",
            status_lines=3,
        )
        self.controls.set_ready(True)
        self.controls.run_clicked.connect(self.run_requested)
        self.controls.cancel_clicked.connect(self.cancel_requested)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # The Data page's other series and calendar inputs, which every run reads (issue 24)
        self.inputs_label = QLabel()
        self.inputs_label.setObjectName("hint")
        self.inputs_label.setWordWrap(True)
        self.show_inputs("")
        for widget in (
            series_box,
            grid_box,
            runs_box,
            self.count_label,
            self.inputs_label,
            self.controls,
        ):
            layout.addWidget(widget)
        for edit in (*self.grid_edits.values(), self.seeds_edit, self.ray_edit):
            edit.textChanged.connect(self._update_count)
        self.sample_list.itemChanged.connect(self._update_count)
        self.csv_edit.textChanged.connect(self._update_count)
        self.ticker_edit.textChanged.connect(self._update_count)
        self.engine_combo.currentIndexChanged.connect(self._update_count)
        self.search_combo.currentIndexChanged.connect(self._update_count)
        self.trials_spin.valueChanged.connect(self._update_count)
        self._update_count()

    # ------------------------------------------------------------------ reading
    def set_checked_samples(self, names: list[str]) -> None:
        for i in range(self.sample_list.count()):
            item = self.sample_list.item(i)
            state = Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked
            item.setCheckState(state)

    def checked_samples(self) -> list[str]:
        items = (self.sample_list.item(i) for i in range(self.sample_list.count()))
        return [it.text() for it in items if it.checkState() == Qt.CheckState.Checked]

    def choices(self) -> ExperimentChoices:
        """What to run, checked; one sentence naming the field when something is unusable."""
        csvs = [p.strip() for p in self.csv_edit.text().split(";") if p.strip()]
        tickers = [t.strip().upper() for t in self.ticker_edit.text().split(",") if t.strip()]
        samples = self.checked_samples()
        if not (samples or csvs or tickers):
            raise StockappError("Tick a sample, or give a CSV file or a ticker, to experiment on.")
        grid = {f.name: f.parse_space(self.grid_edits[f.name].text()) for f in GRID_FIELDS}
        method = self.search_combo.currentData()
        search = Search(method, None if method == "grid" else self.trials_spin.value())
        search.check(grid, window=True)
        engine = self.engine_combo.currentData()
        address = (self.ray_edit.text().strip() or None) if engine == "ray" else None
        if address is not None:
            ray_endpoint(address)  # a port that is not one is said before Run is pressed
        return ExperimentChoices(
            samples=samples,
            csvs=csvs,
            tickers=tickers,
            grid=grid,
            seeds=parse_seeds(self.seeds_edit.text(), "Seeds take", "0-2"),
            epochs=self.epochs_spin.value(),
            test_fraction=self.test_spin.value() / 100.0,
            engine=engine,
            ray_address=address,
            out=self.out_edit.text().strip(),
            search=search,
        )

    # ------------------------------------------------------------------ showing
    def set_busy(self, busy: bool) -> None:
        self.controls.set_running(busy)

    def show_status(self, message: str) -> None:
        self.controls.set_status(message)

    def show_inputs(self, summary: str) -> None:
        """Name the inputs every run reads besides its series' own past ("" for none)."""
        self.inputs_label.setText(
            f"Every run also reads {summary} (the Data page's Other series)."
            if summary
            else "Every run reads its series' own past only (add other series or calendar "
            "inputs on the Data page)."
        )

    def _search_changed(self) -> None:
        searching = self.search_combo.currentData() != "grid"
        self.trials_spin.setVisible(searching)
        self.trials_label.setVisible(searching)

    def _engine_changed(self) -> None:
        ray = self.engine_combo.currentData() == "ray"
        self.ray_edit.setVisible(ray)
        self.ray_label.setVisible(ray)

    def _update_count(self, *_: object) -> None:
        try:
            c = self.choices()
        except StockappError as exc:
            self.count_label.setText(str(exc))
            return
        n_series = c.series_count
        runs = c.run_count
        configs = runs // max(len(c.seeds) * n_series, 1)
        self.count_label.setText(
            f"{configs} configuration{'s' * (configs != 1)} x {len(c.seeds)} "
            f"seed{'s' * (len(c.seeds) != 1)} x {n_series} series = {runs} backtests."
        )

    def _add_csv(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add CSV files", "", "CSV files (*.csv)")
        if paths:
            have = [p for p in self.csv_edit.text().split(";") if p.strip()]
            self.csv_edit.setText("; ".join(have + paths))
