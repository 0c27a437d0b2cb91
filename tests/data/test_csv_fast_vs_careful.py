"""The fast CSV reader against the careful one on the same files (issue 21).

The careful reader (every row through Python's ``csv`` module, every cell cleaned) is the
reference. Hundreds of awkward files are generated from a seeded random stream: separators,
decimal commas, thousands separators, currency signs, words for missing values, infinities,
quoted cells, stray spaces, blank and separator-only lines, ragged rows, bad dates and numbers,
every date format with and without UTC offsets, day/month ambiguity, yfinance's three header
rows, BOMs, CRLF and cp1252, and odd rows placed past the sample the dialect is sniffed from.
Wherever the fast reader answers, its table, notes and refusals must equal the careful reader's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockapp.data.csv_careful import read_careful
from stockapp.data.csv_loader import load_csv, read_fast
from stockapp.errors import DataError

FILES = 240
_NY = "America/New_York"
_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%Y%m%d",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%y",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "unpadded",
)
_MISSING = ("", "NaN", "nan", "null", "NULL", "N/A", "n/a", "-", "None", " nan ", "#N/A", "Null")
_HUGE = ("inf", "-inf", "1e400", "1e300", "-Infinity", "Infinity")
_BAD = ("abc", "-nan", "12.3.4", "True", "1_000", "0x10", "--5")


def _stamps(rng, n: int) -> pd.DatetimeIndex:
    kind = rng.choice(["daily", "hourly", "minute", "monthly"], p=[0.45, 0.2, 0.2, 0.15])
    if n > 1000 and kind != "minute":  # thousands of months or days would pass the year 2262
        kind = "hourly"
    start = pd.Timestamp("1995-01-02") + pd.Timedelta(days=int(rng.integers(0, 9000)))
    if kind == "daily":
        return pd.bdate_range(start, periods=n)
    if kind == "monthly":
        return pd.date_range(start, periods=n, freq="MS")
    step = "h" if kind == "hourly" else "min"
    days = pd.bdate_range(start, periods=n // 6 + 2)
    out = [d + pd.Timedelta(hours=10) + pd.Timedelta(1, step) * k for d in days for k in range(6)]
    return pd.DatetimeIndex(out[:n])


def _stamp(t: pd.Timestamp, fmt: str) -> str:
    if fmt == "unpadded":  # 2004-8-9 16:00:00: ISO8601 reads it
        return f"{t.year}-{t.month}-{t.day} {t:%H:%M:%S}"
    return f"{t:{fmt}}"


def _date_cells(rng, stamps: pd.DatetimeIndex, fmt: str) -> list[str]:
    iso = fmt.startswith("%Y-") or fmt == "unpadded"
    zone = rng.choice(["none", "Z", "fixed", "dst", "three", "words", "some"]) if iso else "none"
    if zone == "none" or rng.random() < 0.3:
        cells = [_stamp(t, fmt) for t in stamps]
    elif zone in ("dst", "three"):
        local = (stamps + pd.Timedelta(hours=6)).tz_localize(_NY, nonexistent="shift_forward")
        zones = [_NY] if zone == "dst" else [_NY, "UTC", "Asia/Tokyo"]
        cells = []
        for i, t in enumerate(local):
            t = t.tz_convert(zones[i % len(zones)])
            z = t.strftime("%z")
            z = z[:3] + ":" + z[3:] if rng.random() < 0.8 else z
            cells.append(_stamp(t, fmt) + ("Z" if z in ("+00:00", "+0000") and i % 2 else z))
    else:
        suffix = {"Z": "Z", "fixed": rng.choice(["+09:00", "-0530", "+00:00"]), "words": " UTC"}
        cells = [
            f"{t:{fmt}}" + suffix.get(zone, "Z" if i % 3 else "") for i, t in enumerate(stamps)
        ]
    if rng.random() < 0.1:
        cells = [f"  {c} " for c in cells]
    return cells


def _number(rng, value: float, sep: str, comma: bool, integer: bool, bad: bool) -> str:
    text = (
        f"{value:.0f}"
        if integer
        else (f"{value:.6f}" if rng.random() < 0.5 else repr(float(value)))
    )
    roll = rng.random()
    if roll < 0.03:
        grouped = f"{value:,.2f}"
        text = grouped.replace(",", "_").replace(".", ",").replace("_", ".") if comma else grouped
    elif roll < 0.05:
        text = rng.choice(["$", "£", ""]) + text + rng.choice(["", " €"])
    elif roll < 0.08:
        return str(rng.choice(_MISSING))
    elif roll < 0.09:
        return str(rng.choice(_HUGE))
    elif roll < 0.10:
        text = f" {text} "
    elif roll < 0.105 and bad:
        return str(rng.choice(_BAD))
    if comma:
        text = text.replace(".", ",") if "," not in text else text
    if sep in text or ("," in text and sep == ","):
        text = f'"{text}"'
    return text


def _awkward(rng) -> tuple[bytes, bool | None]:
    """One generated file and the dayfirst to read it with."""
    big = rng.random() < 0.08
    n = int(rng.integers(2500, 3500)) if big else int(rng.choice([35, 60, 140]))
    sep = str(rng.choice([",", ";", "\t", "|"], p=[0.5, 0.3, 0.1, 0.1]))
    comma = sep == ";" and rng.random() < 0.7
    stamps = _stamps(rng, n)
    fmt = str(rng.choice(_FORMATS))
    if stamps[1] - stamps[0] < pd.Timedelta(days=1) and "%H" not in fmt:
        fmt = "%Y-%m-%d %H:%M:%S"
    dates = _date_cells(rng, stamps, fmt)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    values = {
        "Open": close * (1 + rng.normal(0, 0.003, n)),
        "High": close * 1.01,
        "Low": close * 0.99,
        "Close": close,
        "Adj Close": close * 0.9,
        "Volume": rng.integers(1_000, 5_000_000, n).astype(float),
    }
    names = [c for c in values if c == "Close" or rng.random() < 0.7]
    if rng.random() < 0.1:
        names.remove("Close")
        names.append(str(rng.choice(["Price", "Last"])))
        values[names[-1]] = close
    spell = {"Adj Close": rng.choice(["Adj Close", "adj_close", "AdjClose"])}
    header_names = [str(spell.get(c, c if rng.random() < 0.8 else c.upper())) for c in names]
    note = rng.random() < 0.15
    date_name = str(rng.choice(["Date", "Datetime", "timestamp", " Date ", ""]))
    lines = [sep.join([date_name, *header_names] + (["Note"] if note else []))]
    if rng.random() < 0.1:  # yfinance's three header rows
        lines = [
            sep.join(["Price", *header_names]),
            sep.join(["Ticker", *["XYZ"] * len(names)]),
            sep.join(["Date", *[""] * len(names)]),
        ]
        note = False
    order = np.arange(n)[::-1] if rng.random() < 0.1 else np.arange(n)
    bad = rng.random() < 0.1  # a few files have cells that are no number
    for i in order:
        cells = [dates[i]]
        cells += [_number(rng, values[c][i], sep, comma, c == "Volume", bad) for c in names]
        if note:
            cells.append(str(rng.choice(["ok", "Kurs in €, März", '"quoted, note"', "café"])))
            if sep in cells[-1] and not cells[-1].startswith('"'):
                cells[-1] = f'"{cells[-1]}"'
        lines.append(sep.join(cells))
    body = len(lines) - n
    for _ in range(int(rng.choice([0, 0, 0, 1, 2]))):  # odd rows anywhere, past the sample too
        at = int(rng.integers(body, len(lines)))
        odd = rng.choice(
            ["blank", "seps", "spaces", "trailing", "short", "long", "date", "dup"],
            p=[0.15, 0.1, 0.1, 0.15, 0.15, 0.1, 0.1, 0.15],
        )
        if odd == "blank":
            lines.insert(at, "")
        elif odd == "seps":
            lines.insert(at, sep * len(names))
        elif odd == "spaces":
            lines.insert(at, "   ")
        elif odd == "trailing":
            lines[at] += sep * 2
        elif odd == "short":
            lines[at] = sep.join(lines[at].split(sep)[:2])
        elif odd == "long":
            lines[at] += sep + "9" + sep + "extra"
        elif odd == "date":
            lines[at] = "31/31/2020" + lines[at][len(lines[at].split(sep)[0]) :]
        else:
            lines.insert(at, lines[at])
    if rng.random() < 0.05:
        lines.insert(0, "")
    end = str(rng.choice(["\n", "\r\n", "\r"], p=[0.6, 0.35, 0.05]))
    text = end.join(lines) + (end if rng.random() < 0.8 else "")
    encoding = str(rng.choice(["utf-8", "utf-8-sig", "cp1252"], p=[0.7, 0.15, 0.15]))
    dayfirst = None if rng.random() < 0.8 else bool(rng.random() < 0.5)
    return text.encode(encoding, errors="replace"), dayfirst


def _outcome(read) -> tuple:
    try:
        result = read()
    except DataError as exc:
        return ("refused", type(exc).__name__, str(exc))
    if result is None:
        return ("deferred",)
    frame, notes, _ = result
    index = frame.index.as_unit("ns").asi8
    return ("read", list(frame.columns), index.tolist(), frame.to_numpy().tobytes(), notes)


def test_fast_reader_equals_careful_reader_on_awkward_files(tmp_path):
    rng = np.random.default_rng(2026)
    taken = {"read": 0, "refused": 0, "deferred": 0}
    for i in range(FILES):
        data, dayfirst = _awkward(rng)
        path = tmp_path / f"f{i}.csv"
        path.write_bytes(data)
        fast = _outcome(lambda path=path, dayfirst=dayfirst: read_fast(path, dayfirst))
        taken[fast[0]] += 1
        if fast[0] == "deferred":
            continue
        careful = _outcome(lambda path=path, dayfirst=dayfirst: read_careful(path, dayfirst))
        assert fast[:2] == careful[:2], (i, fast[:3], careful[:3])
        assert fast == careful, f"file {i} ({path}) reads differently"
    # The comparison means something only if the fast reader really answered most files.
    assert taken["read"] >= FILES * 0.6, taken


def test_a_few_odd_rows_are_read_carefully_and_counted(tmp_path):
    stamps = pd.date_range("2024-01-02 09:30", periods=3000, freq="min")
    close = np.round(1000 + np.arange(3000) * 0.01, 2)  # as the file writes them
    rows = [
        f"{t:%Y-%m-%d %H:%M:%S},{c:.2f},{1000 + i}"
        for i, (t, c) in enumerate(zip(stamps, close, strict=True))
    ]
    odd = {2500: '"$1,025.00"', 2700: "1 027.00 €", 2900: " N/A "}
    for i, cell in odd.items():
        rows[i] = rows[i].split(",")[0] + f",{cell},{1000 + i}"
    path = tmp_path / "minutes.csv"
    path.write_text("\n".join(["Datetime,Close,Volume", *rows]) + "\n")
    series = load_csv(path)
    assert series.report.careful_rows == 3  # not the whole file: only the odd rows
    assert series.report.dropped_missing == 1
    expected = pd.Series(close, index=stamps).drop(stamps[2900])
    expected[stamps[2500]], expected[stamps[2700]] = 1025.0, 1027.0
    np.testing.assert_array_equal(series.frame["Close"], expected.to_numpy())
    assert "rows read cell by cell: 3" in series.report.summary_lines()
    assert series.report.to_dict()["careful_rows"] == 3
    assert series.report.warnings == ["1 rows dropped for missing prices"]


def test_a_file_the_fast_reader_leaves_is_read_carefully_and_all_rows_counted(tmp_path):
    rows = [
        f"{d:%Y-%m-%d},{100 + i}" for i, d in enumerate(pd.bdate_range("2020-01-01", periods=40))
    ]
    rows.insert(10, ",")  # a line of separators only, which the careful reader skips
    path = tmp_path / "x.csv"
    path.write_text("\n".join(["Date,Close", *rows]))
    assert read_fast(path) is None
    series = load_csv(path)
    assert series.report.careful_rows == 40
    assert len(series) == 40


@pytest.mark.parametrize("dayfirst", [None, True])
def test_clean_files_are_read_fast_and_nothing_carefully(tmp_path, aapl_csv, dayfirst):
    assert read_fast(aapl_csv, dayfirst) is not None
    assert load_csv(aapl_csv, dayfirst).report.careful_rows == 0
