"""Odd CSV files people bring, pinned to the answers and sentences the loader gave before it was
made fast (issue 21): the fast reader must change none of them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockapp.data.csv_loader import load_csv
from stockapp.errors import DataError

ROWS = 40


@pytest.fixture
def aapl_lines(aapl_csv) -> list[str]:
    return aapl_csv.read_text().splitlines()


@pytest.fixture
def aapl_head(aapl_csv) -> pd.DataFrame:
    frame = pd.read_csv(aapl_csv, index_col="Date", parse_dates=True).iloc[:ROWS]
    frame.index = frame.index.as_unit("ns")
    return frame.astype(np.float64)


def _write(tmp_path, content: str | bytes, name: str = "x.csv"):
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


def _cells(line: str) -> list[str]:
    return line.split(",")


def test_html_page_saved_as_csv(tmp_path):
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8"><title>AAPL Historical Data, Yahoo</title>'
        "</head>\n<body><table><tr><td>Date</td><td>Close</td></tr></table></body></html>\n"
    )
    path = _write(tmp_path, page, "AAPL.csv")
    assert _error(path) == f"{path} has no Close column (its columns are: <!DOCTYPE html>)."


def test_thousands_separators_in_quoted_fields(tmp_path, aapl_lines, aapl_head):
    rows = []
    for line in aapl_lines[1 : ROWS + 1]:
        cells = _cells(line)
        cells[-1] = f'"{int(cells[-1]):,}"'  # 97,230,000
        cells[4] = f'"{float(cells[4]) * 1000:,.6f}"'  # 2,193.571000
        rows.append(",".join(cells))
    series = load_csv(_write(tmp_path, "\n".join([aapl_lines[0], *rows])))
    expected = aapl_head.copy()
    expected["Close"] = (aapl_head["Close"] * 1000).round(6)
    pd.testing.assert_frame_equal(series.frame, expected, check_names=False)


def test_decimal_comma_with_thousands_dots(tmp_path, aapl_lines, aapl_head):
    rows = [aapl_lines[0].replace(",", ";")]
    for line in aapl_lines[1 : ROWS + 1]:
        cells = _cells(line)
        volume = f"{int(cells[-1]):,}".replace(",", ".")  # 97.230.000 has no comma: refused
        cells[-1] = volume + ",0"  # 97.230.000,0
        rows.append(";".join(c.replace(".", ",") if i < 6 else c for i, c in enumerate(cells)))
    series = load_csv(_write(tmp_path, "\n".join(rows)))
    pd.testing.assert_frame_equal(series.frame, aapl_head, check_names=False)


def test_currency_signs_and_words_for_missing(tmp_path, aapl_lines, aapl_head):
    rows = []
    for i, line in enumerate(aapl_lines[1 : ROWS + 1]):
        cells = _cells(line)
        cells[1] = "$" + cells[1]
        cells[2] = cells[2] + " €"
        if i in (3, 8):
            cells[3] = ("N/A", "null")[i == 8]
        if i == 12:
            cells[5] = "-"
        rows.append(",".join(cells))
    series = load_csv(_write(tmp_path, "\n".join([aapl_lines[0], *rows])))
    expected = aapl_head.drop(aapl_head.index[[3, 8, 12]])
    pd.testing.assert_frame_equal(series.frame, expected, check_names=False)
    assert series.report.dropped_missing == 3


def test_tab_separated_unquoted_thousands(tmp_path, aapl_lines, aapl_head):
    rows = [aapl_lines[0].replace(",", "\t")]
    for line in aapl_lines[1 : ROWS + 1]:
        cells = _cells(line)
        cells[-1] = f"{int(cells[-1]):,}"
        rows.append("\t".join(cells))
    series = load_csv(_write(tmp_path, "\n".join(rows)))
    pd.testing.assert_frame_equal(series.frame, aapl_head, check_names=False)


def test_blank_lines_and_lines_of_separators_are_skipped(tmp_path, aapl_lines, aapl_head):
    rows = list(aapl_lines[1 : ROWS + 1])
    rows.insert(5, "")
    rows.insert(9, ",,,,,,")
    rows.insert(15, "   ")
    text = "\n\n" + "\n".join([aapl_lines[0], *rows]) + "\n\n"
    series = load_csv(_write(tmp_path, text))
    pd.testing.assert_frame_equal(series.frame, aapl_head, check_names=False)
    assert series.report.dropped_missing == 0


def test_row_errors_count_blank_and_quoted_lines(tmp_path, aapl_lines):
    rows = list(aapl_lines[1 : ROWS + 1])
    rows.insert(2, "")
    rows[4] = rows[4] + ',"a note\nover two lines"'  # line 6 and 7; the header has 7 fields
    header = aapl_lines[0] + ",Note"
    rows[10] = "not a date" + rows[10][10:]
    path = _write(tmp_path, "\n".join([header, *rows]))
    assert _error(path) == f"Row 13 of {path} has a date that cannot be read: 'not a date'."


def test_trailing_empty_fields_beyond_the_header(tmp_path, aapl_lines, aapl_head):
    rows = [line + ",," for line in aapl_lines[1 : ROWS + 1]]
    series = load_csv(_write(tmp_path, "\n".join([aapl_lines[0], *rows])))
    pd.testing.assert_frame_equal(series.frame, aapl_head, check_names=False)


def test_short_rows_are_missing_values(tmp_path, aapl_lines, aapl_head):
    rows = list(aapl_lines[1 : ROWS + 1])
    rows[7] = ",".join(_cells(rows[7])[:3])  # no Low, Close, ...
    series = load_csv(_write(tmp_path, "\n".join([aapl_lines[0], *rows])))
    pd.testing.assert_frame_equal(
        series.frame, aapl_head.drop(aapl_head.index[7]), check_names=False
    )
    assert series.report.dropped_missing == 1


def test_spaces_around_cells(tmp_path, aapl_lines, aapl_head):
    rows = [" " + line.replace(",", " , ") + " " for line in aapl_lines[1 : ROWS + 1]]
    series = load_csv(_write(tmp_path, "\n".join([aapl_lines[0], *rows])))
    pd.testing.assert_frame_equal(series.frame, aapl_head, check_names=False)


@pytest.mark.parametrize("suffix", ["Z", " UTC", "+00:00", "+0000", " GMT"])
def test_utc_suffixes(tmp_path, aapl_lines, aapl_head, suffix):
    rows = [line[:10] + " 16:00:00" + suffix + line[10:] for line in aapl_lines[1 : ROWS + 1]]
    series = load_csv(_write(tmp_path, "\n".join([aapl_lines[0], *rows])))
    pd.testing.assert_frame_equal(series.frame, aapl_head, check_names=False)
    assert series.report.notes == ()


def test_one_fixed_offset_keeps_wall_times(tmp_path):
    stamps = pd.date_range("2024-03-04 09:30", periods=60, freq="min")
    rows = [f"{t:%Y-%m-%dT%H:%M:%S}+09:00,{100 + i * 0.01:.2f}" for i, t in enumerate(stamps)]
    series = load_csv(_write(tmp_path, "\n".join(["Datetime,Close", *rows])))
    assert list(series.dates) == list(stamps)
    assert series.report.notes == ()


def test_a_late_different_date_style_is_refused_with_its_row(tmp_path, aapl_lines):
    rows = list(aapl_lines[1 : ROWS + 1])
    rows[30] = "09/30/2004" + rows[30][10:]
    path = _write(tmp_path, "\n".join([aapl_lines[0], *rows]))
    assert _error(path) == f"Row 32 of {path} has a date that cannot be read: '09/30/2004'."


def test_unterminated_quote(tmp_path, aapl_lines):
    rows = list(aapl_lines[1 : ROWS + 1])
    rows[-1] = rows[-1] + ',"oops'
    path = _write(tmp_path, "\n".join([aapl_lines[0], *rows]))
    assert _error(path) == f"Row {ROWS + 1} of {path} has 8 fields but the header has 7."


def test_bool_words_are_not_numbers(tmp_path, aapl_lines):
    rows = [",".join([*_cells(line)[:6], "True"]) for line in aapl_lines[1 : ROWS + 1]]
    path = _write(tmp_path, "\n".join([aapl_lines[0], *rows]))
    assert _error(path) == (
        f"Column Volume of {path} has a value that is not a number in row 2: 'True'."
    )


def test_nan_spellings(tmp_path, aapl_lines, aapl_head):
    rows = list(aapl_lines[1 : ROWS + 1])
    for i, word in ((2, "NaN"), (4, "nan"), (6, "NA"), (8, "None"), (10, "#N/A"), (12, "NULL")):
        cells = _cells(rows[i])
        cells[1 + i // 5] = word  # no column loses more than a tenth of its values
        rows[i] = ",".join(cells)
    series = load_csv(_write(tmp_path, "\n".join([aapl_lines[0], *rows])))
    dropped = [2, 4, 6, 8, 10, 12]
    pd.testing.assert_frame_equal(
        series.frame, aapl_head.drop(aapl_head.index[dropped]), check_names=False
    )
    rows[14] = rows[14].replace(_cells(rows[14])[1], "-nan", 1)
    path = _write(tmp_path, "\n".join([aapl_lines[0], *rows]), "y.csv")
    assert _error(path) == (
        f"Column Open of {path} has a value that is not a number in row 16: '-nan'."
    )


def test_cp1252_file_with_decimal_comma(tmp_path, aapl_lines, aapl_head):
    rows = [aapl_lines[0].replace(",", ";") + ";Notiz"]
    for line in aapl_lines[1 : ROWS + 1]:
        rows.append(line.replace(",", ";").replace(".", ",") + ";Kurs in €, März")
    path = _write(tmp_path, "\r\n".join(rows).encode("cp1252"))
    pd.testing.assert_frame_equal(load_csv(path).frame, aapl_head, check_names=False)
