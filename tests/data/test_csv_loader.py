"""load_csv on the CSV shapes people really have, and the one sentence it gives for bad ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockapp.data.csv_loader import load_csv
from stockapp.errors import DataError

ROWS = 40  # rows of AAPL.csv copied into the hand-made variants


@pytest.fixture
def aapl_lines(aapl_csv) -> list[str]:
    return aapl_csv.read_text().splitlines()


@pytest.fixture
def aapl_head(aapl_csv) -> pd.DataFrame:
    """The first ROWS rows of AAPL.csv as pandas reads them: the expected values."""
    frame = pd.read_csv(aapl_csv, index_col="Date", parse_dates=True).iloc[:ROWS]
    frame.index = frame.index.as_unit("ns")
    return frame.astype(np.float64)


def _write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def _error(path) -> str:
    with pytest.raises(DataError) as err:
        load_csv(path)
    return str(err.value)


def test_yahoo_sample_loads_whole(aapl_csv):
    series = load_csv(aapl_csv)
    assert series.name == "AAPL"
    assert series.source == f"CSV {aapl_csv}"
    assert len(series) == 3379
    assert series.report.first == pd.Timestamp("2004-08-19")
    assert series.report.last == pd.Timestamp("2018-01-19")
    assert list(series.frame.columns) == ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
    assert series.frame.index.dtype == "datetime64[ns]"
    assert series.frame["Close"].iloc[0] == 2.193571


def test_yfinance_three_header_rows(tmp_path, aapl_head):
    # Exactly what yf.download(["AAPL"], auto_adjust=False).to_csv() writes.
    frame = aapl_head[["Adj Close", "Close", "High", "Low", "Open", "Volume"]].copy()
    frame.columns = pd.MultiIndex.from_product([frame.columns, ["AAPL"]], names=["Price", "Ticker"])
    path = tmp_path / "AAPL_yf.csv"
    frame.to_csv(path)
    assert path.read_text().splitlines()[:3] == [
        "Price,Adj Close,Close,High,Low,Open,Volume",
        "Ticker,AAPL,AAPL,AAPL,AAPL,AAPL,AAPL",
        "Date,,,,,,",
    ]
    series = load_csv(path)
    pd.testing.assert_frame_equal(series.frame, aapl_head, check_names=False)


@pytest.mark.parametrize(
    "header",
    [
        "date,open,high,low,close,adj close,volume",
        "DATE,OPEN,HIGH,LOW,CLOSE,adj_close,VOLUME",
        "Date,Open,High,Low,Close,AdjClose,Volume",
        " Date , Open , High , Low , Close , Adj Close , Volume ",
    ],
)
def test_header_spellings(tmp_path, aapl_lines, aapl_head, header):
    path = _write(tmp_path, "x.csv", "\n".join([header, *aapl_lines[1 : ROWS + 1]]))
    pd.testing.assert_frame_equal(load_csv(path).frame, aapl_head, check_names=False)


def test_date_and_close_only(tmp_path, aapl_lines, aapl_head):
    rows = [",".join(line.split(",")[i] for i in (0, 4)) for line in aapl_lines[1 : ROWS + 1]]
    series = load_csv(_write(tmp_path, "x.csv", "\n".join(["Date,Close", *rows])))
    assert list(series.frame.columns) == ["Close"]
    assert not series.has_ohlc
    np.testing.assert_array_equal(series.frame["Close"], aapl_head["Close"])


def test_semicolon_separator(tmp_path, aapl_lines, aapl_head):
    text = "\n".join(line.replace(",", ";") for line in aapl_lines[: ROWS + 1])
    pd.testing.assert_frame_equal(
        load_csv(_write(tmp_path, "x.csv", text)).frame, aapl_head, check_names=False
    )


def test_semicolon_separator_with_decimal_comma(tmp_path, aapl_lines, aapl_head):
    rows = [line.replace(",", ";").replace(".", ",") for line in aapl_lines[: ROWS + 1]]
    pd.testing.assert_frame_equal(
        load_csv(_write(tmp_path, "x.csv", "\n".join(rows))).frame, aapl_head, check_names=False
    )


def test_utf8_bom_and_crlf(tmp_path, aapl_lines, aapl_head):
    text = "\ufeff" + "\r\n".join(aapl_lines[: ROWS + 1]) + "\r\n"
    path = _write(tmp_path, "x.csv", text.encode("utf-8"))
    pd.testing.assert_frame_equal(load_csv(path).frame, aapl_head, check_names=False)


@pytest.mark.parametrize(
    "style",
    ["08/19/2004", "2004-08-19 00:00:00-04:00", "2004-08-19T00:00:00Z", "19.08.2004"],
)
def test_date_styles(tmp_path, aapl_lines, aapl_head, style):
    fmt = {
        "08/19/2004": "%m/%d/%Y",
        "2004-08-19 00:00:00-04:00": "%Y-%m-%d 00:00:00-04:00",
        "2004-08-19T00:00:00Z": "%Y-%m-%dT00:00:00Z",
        "19.08.2004": "%d.%m.%Y",
    }[style]
    rows = [pd.Timestamp(line[:10]).strftime(fmt) + line[10:] for line in aapl_lines[1 : ROWS + 1]]
    assert rows[0].startswith(style)
    path = _write(tmp_path, "x.csv", "\n".join([aapl_lines[0], *rows]))
    pd.testing.assert_frame_equal(load_csv(path).frame, aapl_head, check_names=False)


def test_mixed_daylight_saving_offsets_keep_local_dates(tmp_path):
    dates = pd.bdate_range("2020-02-20", periods=40).tz_localize("America/New_York")
    rows = [f"{d.isoformat()},{100 + i}" for i, d in enumerate(dates)]
    series = load_csv(_write(tmp_path, "x.csv", "\n".join(["Date,Close", *rows])))
    assert list(series.dates) == list(dates.tz_localize(None))


def test_missing_values_are_dropped_and_reported(tmp_path, aapl_lines):
    rows = aapl_lines[1 : ROWS + 1]
    rows[3] = rows[3][:11] + "null,null,null,null,null,null"
    rows[6] = ",".join(rows[6].split(",")[:4]) + ",,,"
    series = load_csv(_write(tmp_path, "x.csv", "\n".join([aapl_lines[0], *rows])))
    assert series.report.rows == ROWS - 2
    assert series.report.dropped_missing == 2


def test_file_name_with_caret(tmp_path, samples_dir):
    path = tmp_path / "^GSPC.csv"
    path.write_bytes((samples_dir / "^GSPC.csv").read_bytes())
    assert load_csv(path).name == "^GSPC"


# --- bad input: one sentence, naming the file and where -----------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    assert _error(path) == f"CSV file {path} does not exist."


def test_directory(tmp_path):
    assert _error(tmp_path) == f"{tmp_path} is a folder, not a CSV file."


def test_empty_file(tmp_path):
    path = _write(tmp_path, "x.csv", "")
    assert _error(path) == f"CSV file {path} is empty."


def test_blank_lines_only(tmp_path):
    path = _write(tmp_path, "x.csv", "\n \n\n")
    assert _error(path) == f"CSV file {path} is empty."


def test_header_only(tmp_path, aapl_lines):
    path = _write(tmp_path, "x.csv", aapl_lines[0] + "\n")
    assert _error(path) == f"{path} has a header but no data rows."


def test_no_date_column(tmp_path):
    rows = [f"x{i},{100 + i}" for i in range(40)]
    path = _write(tmp_path, "x.csv", "\n".join(["Symbol,Close", *rows]))
    assert _error(path) == f"{path} has no Date column (its columns are: Symbol, Close)."


def test_unnamed_first_column_of_dates_is_used(tmp_path, aapl_lines):
    rows = [",".join(line.split(",")[i] for i in (0, 4)) for line in aapl_lines[1 : ROWS + 1]]
    series = load_csv(_write(tmp_path, "x.csv", "\n".join([",Close", *rows])))
    assert series.report.rows == ROWS


def test_no_close_column(tmp_path, aapl_lines):
    rows = [",".join(line.split(",")[:3]) for line in aapl_lines[1 : ROWS + 1]]
    path = _write(tmp_path, "x.csv", "\n".join(["Date,Open,High", *rows]))
    assert _error(path) == f"{path} has no Close column (its columns are: Date, Open, High)."


def test_non_numeric_price_names_column_row_and_value(tmp_path, aapl_lines):
    rows = aapl_lines[1 : ROWS + 1]
    cells = rows[5].split(",")
    cells[4] = "12.3.4"
    rows[5] = ",".join(cells)
    path = _write(tmp_path, "x.csv", "\n".join([aapl_lines[0], *rows]))
    assert _error(path) == (
        f"Column Close of {path} has a value that is not a number in row 7: '12.3.4'."
    )


def test_unparseable_date_names_row_and_value(tmp_path, aapl_lines):
    rows = aapl_lines[1 : ROWS + 1]
    rows[9] = "2004-13-45" + rows[9][10:]
    path = _write(tmp_path, "x.csv", "\n".join([aapl_lines[0], *rows]))
    assert _error(path) == f"Row 11 of {path} has a date that cannot be read: '2004-13-45'."


def test_blank_date_names_row(tmp_path, aapl_lines):
    rows = aapl_lines[1 : ROWS + 1]
    rows[2] = rows[2][10:]
    path = _write(tmp_path, "x.csv", "\n".join([aapl_lines[0], *rows]))
    assert _error(path) == f"Row 4 of {path} has no date."


def test_row_with_too_many_fields(tmp_path, aapl_lines):
    rows = aapl_lines[1 : ROWS + 1]
    rows[4] += ",1,2"
    path = _write(tmp_path, "x.csv", "\n".join([aapl_lines[0], *rows]))
    assert _error(path) == f"Row 6 of {path} has 9 fields but the header has 7."


def test_too_few_rows(tmp_path, aapl_lines):
    path = _write(tmp_path, "x.csv", "\n".join(aapl_lines[:13]))
    assert _error(path) == f"{path} has only 12 price rows; at least 30 are needed."


def test_zero_price(tmp_path, aapl_lines):
    rows = aapl_lines[1 : ROWS + 1]
    cells = rows[7].split(",")
    cells[3] = "0"
    rows[7] = ",".join(cells)
    path = _write(tmp_path, "x.csv", "\n".join([aapl_lines[0], *rows]))
    assert _error(path) == (
        f"{path} has a Low price of zero or below on 2004-08-30; prices must be positive."
    )


def test_png_bytes(tmp_path):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06"
    path = _write(tmp_path, "chart.csv", png)
    assert _error(path) == f"{path} is not a text CSV file (it looks like binary data)."


def test_not_utf8_text_still_reads(tmp_path, aapl_lines):
    text = "\n".join([aapl_lines[0] + ",Note", *(line + ",caf\xe9" for line in aapl_lines[1:41])])
    path = _write(tmp_path, "x.csv", text.encode("cp1252"))
    assert load_csv(path).report.rows == ROWS


# --- timestamps in several UTC offsets (issue 7, item 3) ----------------------------------


def _new_york_closes(n: int) -> pd.DatetimeIndex:
    """16:00 New York closes on ``n`` business days across both daylight-saving changes."""
    days = pd.bdate_range("2020-01-02", periods=n)
    return (days + pd.Timedelta(hours=16)).tz_localize("America/New_York")


def test_closes_written_in_three_utc_offsets_keep_their_trading_days(tmp_path):
    closes = _new_york_closes(240)
    zones = ["America/New_York", "UTC", "Asia/Tokyo"]
    stamps = [c.tz_convert(zones[i % 3]).isoformat() for i, c in enumerate(closes)]
    stamps = [s.replace("+00:00", "Z") for s in stamps]
    assert {s[-6:] for s in stamps} >= {"-05:00", "-04:00", "+09:00"}
    assert any(s.endswith("Z") for s in stamps)
    rows = [f"{s},{100 + i * 0.1:.2f}" for i, s in enumerate(stamps)]
    series = load_csv(_write(tmp_path, "x.csv", "\n".join(["Date,Close", *rows])))

    assert list(series.dates) == list(closes.tz_localize(None).normalize())
    assert not (series.dates.day_of_week >= 5).any()  # no weekend bar
    assert not series.dates.duplicated().any()
    assert series.report.rows == 240
    assert series.report.duplicates_removed == 0
    assert series.report.notes == (
        "timestamps written in 4 UTC offsets (-05:00, -04:00, +00:00, +09:00) converted to "
        "UTC before taking their dates",
    )


def test_the_most_used_offset_is_not_taken_when_it_moves_closes_to_weekends(tmp_path):
    closes = _new_york_closes(120)
    zones = ["Asia/Tokyo", "Asia/Tokyo", "America/New_York"]
    rows = [
        f"{c.tz_convert(zones[i % 3]).isoformat()},{100 + i * 0.1:.2f}"
        for i, c in enumerate(closes)
    ]
    series = load_csv(_write(tmp_path, "x.csv", "\n".join(["Date,Close", *rows])))
    assert list(series.dates) == list(closes.tz_localize(None).normalize())
    (note,) = series.report.notes
    assert note.startswith("timestamps written in 3 UTC offsets (-05:00, -04:00, +09:00)")


# --- ambiguous day/month dates (issue 7, item 4) ------------------------------------------


def _monthly_rows(dayfirst: bool, n: int = 40) -> list[str]:
    months = pd.date_range("1999-02-01", periods=n, freq="MS")
    fmt = "%d/%m/%Y" if dayfirst else "%m/%d/%Y"
    return [f"{d.strftime(fmt)},{50 + i}" for i, d in enumerate(months)]


def test_all_ambiguous_monthly_dates_take_the_regular_reading(tmp_path):
    path = _write(tmp_path, "x.csv", "\n".join(["Date,Close", *_monthly_rows(dayfirst=True)]))
    assert path.read_text().splitlines()[1:3] == ["01/02/1999,50", "01/03/1999,51"]
    series = load_csv(path)
    assert list(series.dates) == list(pd.date_range("1999-02-01", periods=40, freq="MS"))
    assert series.report.notes == (
        "dates such as 01/02/1999 read day first (1 February 1999): "
        "the reading that gives a regular calendar",
    )


def test_month_first_monthly_dates_stay_month_first(tmp_path):
    path = _write(tmp_path, "x.csv", "\n".join(["Date,Close", *_monthly_rows(dayfirst=False)]))
    series = load_csv(path)
    assert list(series.dates) == list(pd.date_range("1999-02-01", periods=40, freq="MS"))
    assert series.report.notes == (
        "dates such as 02/01/1999 read month first (1 February 1999): "
        "the reading that gives a regular calendar",
    )


def test_dayfirst_forces_the_reading(tmp_path):
    path = _write(tmp_path, "x.csv", "\n".join(["Date,Close", *_monthly_rows(dayfirst=True)]))
    series = load_csv(path, dayfirst=True)
    assert series.dates[0] == pd.Timestamp("1999-02-01")
    assert series.report.notes == ()
    # Read month first on request: January 2nd, 3rd, ... which is what the user asked for.
    series = load_csv(path, dayfirst=False)
    assert series.dates[0] == pd.Timestamp("1999-01-02")


def test_ambiguous_dates_regular_neither_way_are_refused(tmp_path):
    # The 1st, 2nd and 5th of each month, day first: steps of 1, 3 and 27 days are no regular
    # calendar; month first they are not even in order (01/02 is before 02/01).
    days = pd.DatetimeIndex(
        [pd.Timestamp(2001 + m // 12, m % 12 + 1, d) for m in range(14) for d in (1, 2, 5)]
    )
    rows = [f"{d:%d/%m/%Y},{50 + i}" for i, d in enumerate(days)]
    path = _write(tmp_path, "x.csv", "\n".join(["Date,Close", *rows]))
    message = (
        f"{path} has dates such as 02/01/2001 that read as day/month and as month/day alike, "
        "and neither reading gives a regular calendar; say whether the day or the month comes "
        "first, or write the dates as YYYY-MM-DD."
    )
    assert _error(path) == message
    # Saying which one comes first settles it.
    assert list(load_csv(path, dayfirst=True).dates) == list(days)


def test_a_single_unambiguous_date_settles_the_reading(tmp_path):
    rows = [*_monthly_rows(dayfirst=True, n=40), "15/06/2002,99"]
    series = load_csv(_write(tmp_path, "x.csv", "\n".join(["Date,Close", *rows])))
    assert series.dates[-1] == pd.Timestamp("2002-06-15")
    assert series.report.notes == ()


# --- absurd values (issue 7, item 5) ------------------------------------------------------


def test_infinite_and_absurd_closes_are_dropped_and_counted(tmp_path, aapl_lines):
    rows = aapl_lines[1 : ROWS + 1]
    for i, value in ((4, "inf"), (9, "1e400"), (15, "1e300"), (20, "-Infinity")):
        cells = rows[i].split(",")
        cells[4] = value
        rows[i] = ",".join(cells)
    series = load_csv(_write(tmp_path, "x.csv", "\n".join([aapl_lines[0], *rows])))
    assert series.report.rows == ROWS - 4
    assert series.report.dropped_nonfinite == 4
    assert series.report.dropped_missing == 0
    first = pd.Timestamp(rows[4][:10])
    assert series.report.first_nonfinite == first
    assert (
        f"4 rows dropped for infinite or absurdly large values (beyond 1e+15), "
        f"the first on {first:%Y-%m-%d}" in series.report.warnings
    )
    assert series.frame.to_numpy().max() < 1e15


# --- intraday bars keep their time of day (issue 7, item 6) -------------------------------


def test_hourly_bars_keep_distinct_timestamps(tmp_path):
    stamps = [
        d + pd.Timedelta(hours=h, minutes=30)
        for d in pd.bdate_range("2024-03-04", periods=12)
        for h in range(9, 16)
    ]
    rows = [f"{t:%Y-%m-%d %H:%M:%S},{100 + i * 0.05:.2f}" for i, t in enumerate(stamps)]
    series = load_csv(_write(tmp_path, "x.csv", "\n".join(["Datetime,Close", *rows])))
    assert len(series) == 84
    assert list(series.dates) == stamps
    data = series.report.to_dict()
    assert (data["first_date"], data["last_date"]) == ("2024-03-04T09:30:00", "2024-03-19T15:30:00")
    assert data["duplicates_removed"] == 0


def test_daily_bars_stamped_with_a_time_become_dates(tmp_path, aapl_lines, aapl_head):
    rows = [line[:10] + " 16:00:00" + line[10:] for line in aapl_lines[1 : ROWS + 1]]
    series = load_csv(_write(tmp_path, "x.csv", "\n".join([aapl_lines[0], *rows])))
    pd.testing.assert_frame_equal(series.frame, aapl_head, check_names=False)
    assert series.report.to_dict()["first_date"] == "2004-08-19"
