"""The on-disk price cache: exact round trip, atomic replacement, unreadable files ignored."""

from __future__ import annotations

from datetime import date

import pandas as pd

from stockapp.data.cache import CachedPrices, cache_path, read_cache, write_cache


def _cached(samples_dir) -> CachedPrices:
    frame = pd.read_csv(samples_dir / "AAPL.csv", index_col="Date", parse_dates=True)
    frame.index = frame.index.as_unit("ns")
    return CachedPrices(frame.astype("float64"), date(1920, 1, 1), date(2018, 1, 20))


def test_round_trip_is_exact(samples_dir, stockapp_home):
    cached = _cached(samples_dir)
    path = write_cache("^GSPC", "1d", cached)
    assert path == stockapp_home / "cache" / "prices" / "^GSPC_1d.csv"
    back = read_cache("^GSPC", "1d")
    pd.testing.assert_frame_equal(back.frame, cached.frame, check_names=False)
    assert (back.covered_from, back.covered_to) == (cached.covered_from, cached.covered_to)
    assert back.last_date == date(2018, 1, 19)


def test_rewrite_replaces_and_leaves_no_temporary_files(samples_dir):
    cached = _cached(samples_dir)
    write_cache("AAPL", "1d", cached)
    shorter = CachedPrices(cached.frame.iloc[:100], cached.covered_from, date(2005, 1, 1))
    write_cache("AAPL", "1d", shorter)
    assert len(read_cache("AAPL", "1d").frame) == 100
    assert [p.name for p in cache_path("AAPL", "1d").parent.iterdir()] == ["AAPL_1d.csv"]


def test_missing_or_foreign_files_read_as_no_cache(samples_dir):
    assert read_cache("AAPL", "1d") is None
    path = cache_path("AAPL", "1d")
    path.write_bytes((samples_dir / "AAPL.csv").read_bytes())  # no cache header
    assert read_cache("AAPL", "1d") is None
    path.write_text("# stockapp price cache v1: covered 1920-01-01 2018-01-20\n\x00\x01garbage")
    assert read_cache("AAPL", "1d") is None
