import errno

from stockapp.errors import DataError
from stockapp.gui.failures import failure_sentence


def test_a_stockapp_error_is_shown_as_written():
    exc = DataError("prices.csv has no Close column; export it with one.")
    assert failure_sentence(exc, "open prices.csv") == str(exc)


def test_an_os_error_names_what_was_attempted_and_why():
    exc = PermissionError(errno.EACCES, "Permission denied", "/runs/a")
    assert failure_sentence(exc, "save the run in /runs/a") == (
        "Could not save the run in /runs/a: Permission denied."
    )
