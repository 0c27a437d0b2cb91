"""Every loader puts the typed identity of its prices on the series: kind, where, interval,
adjusted, and a CSV's date order; the words in ``source`` are for people only."""

from __future__ import annotations

from stockapp.core.data_source import DataSource
from stockapp.data import load_csv, load_sample
from stockapp.session.data_tag import DataTag
from stockapp.session.loading import load_series


def test_a_sample_says_it_is_one(samples_dir):
    series = load_sample("aapl")
    assert series.data_source == DataSource("sample", "AAPL", "1d", True)
    assert series.source == series.data_source.describe() == "sample AAPL"
    assert load_series(series.data_source).fingerprint == series.fingerprint


def test_a_csv_keeps_its_path_bar_size_and_date_order(tmp_path):
    path = tmp_path / "weekly.csv"
    import pandas as pd

    days = [f"{d:%d/%m/%Y}" for d in pd.date_range("2020-01-06", periods=40, freq="7D")]
    path.write_text("Date,Close\n" + "\n".join(f"{d},{10 + i}" for i, d in enumerate(days)))
    series = load_csv(path, dayfirst=True)
    assert series.data_source == DataSource("csv", str(path), "1wk", False, dayfirst=True)
    assert series.source == f"CSV {path}"
    assert load_series(series.data_source).fingerprint == series.fingerprint


def test_intraday_bars_are_named_by_their_spacing(tmp_path):
    path = tmp_path / "hourly.csv"
    stamps = [f"2024-01-{d:02d} {h:02d}:30:00" for d in (2, 3, 4, 5, 8) for h in range(9, 16)]
    path.write_text("Date,Close\n" + "\n".join(f"{s},{100 + i}" for i, s in enumerate(stamps)))
    assert load_csv(path).data_source.interval == "1h"


def test_a_tag_names_the_source_as_modelled_and_offers_to_load_it(samples_dir):
    series = load_sample("MSFT")
    raw = DataTag.of(series, adjusted=False)
    assert raw.data_source == DataSource("sample", "MSFT", "1d", False)
    assert raw.reload_text() == "Load MSFT (sample)"
    hand_made = DataTag("X", "sample X", "f", True, "", "")  # words alone load nothing
    assert hand_made.reload_text() == ""
