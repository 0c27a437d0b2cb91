"""The bundled samples: listed, found by forgiving names, loaded as validated series."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from stockapp.data import samples
from stockapp.data.samples import list_samples, load_sample
from stockapp.errors import DataError


def test_list_samples_names_paths_and_descriptions(samples_dir):
    samples = list_samples()
    assert [s.name for s in samples] == ["AAPL", "GOOG", "^GSPC", "INTC", "MSFT", "SPY"]
    assert all(s.path.parent == samples_dir and s.path.exists() for s in samples)
    by_name = {s.name: s for s in samples}
    assert by_name["AAPL"].description == "AAPL, 2004-08-19..2018-01-19, from matplotlib/mplfinance"
    assert by_name["^GSPC"].description.startswith("^GSPC (S&P 500 index), 2008-12-31..2019-02-22")


def test_load_sample():
    series = load_sample("AAPL")
    assert series.name == "AAPL"
    assert series.source == "sample AAPL"
    assert series.report.rows == 3379
    assert series.report.last == pd.Timestamp("2018-01-19")
    assert series.has_adjusted and series.has_ohlc and series.has_volume


@pytest.mark.parametrize("name", ["aapl", " AAPL ", "Aapl"])
def test_name_is_case_insensitive(name):
    assert load_sample(name).name == "AAPL"


@pytest.mark.parametrize("name", ["GSPC", "gspc", "^gspc"])
def test_caret_is_optional(name):
    series = load_sample(name)
    assert series.name == "^GSPC"
    assert series.source == "sample ^GSPC"


def test_every_sample_loads():
    for info in list_samples():
        assert load_sample(info.name).report.rows > 2000


def test_unknown_sample_lists_the_available_ones():
    with pytest.raises(DataError) as err:
        load_sample("TSLA")
    assert str(err.value) == (
        "There is no sample named 'TSLA'; the samples are: AAPL, GOOG, ^GSPC, INTC, MSFT, SPY."
    )


def test_missing_sample_folder_is_one_sentence_not_an_empty_list(monkeypatch, tmp_path):
    monkeypatch.setattr(samples, "samples_dir", lambda: tmp_path / "gone")
    with pytest.raises(DataError) as err:
        list_samples()
    assert str(err.value) == (
        f"The bundled samples are missing from this install ({tmp_path / 'gone'});"
        " reinstall stockapp from a wheel or the source checkout."
    )


def test_samples_are_found_inside_the_installed_package():
    import stockapp

    assert samples.samples_dir() == Path(stockapp.__file__).parent / "resources" / "samples"
