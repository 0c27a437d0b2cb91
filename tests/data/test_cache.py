"""The on-disk price cache: exact round trip, atomic replacement, unreadable files ignored."""

from __future__ import annotations

from datetime import date

import pandas as pd

from stockapp.data.cache import (
    CachedPrices,
    cache_path,
    merge_spans,
    missing_spans,
    read_cache,
    spans_from_bars,
    write_cache,
)


def _cached(samples_dir) -> CachedPrices:
    frame = pd.read_csv(samples_dir / "AAPL.csv", index_col="Date", parse_dates=True)
    frame.index = frame.index.as_unit("ns")
    return CachedPrices(frame.astype("float64"), ((date(1920, 1, 1), date(2018, 1, 20)),))


def test_round_trip_is_exact(samples_dir, stockapp_home):
    cached = _cached(samples_dir)
    path = write_cache("^GSPC", "1d", cached)
    assert path == stockapp_home / "cache" / "prices" / "^GSPC_1d.csv"
    back = read_cache("^GSPC", "1d")
    pd.testing.assert_frame_equal(back.frame, cached.frame, check_names=False)
    assert back.spans == cached.spans
    assert back.last_date == date(2018, 1, 19)


def test_rewrite_replaces_and_leaves_no_temporary_files(samples_dir):
    cached = _cached(samples_dir)
    write_cache("AAPL", "1d", cached)
    shorter = CachedPrices(cached.frame.iloc[:100], ((date(1920, 1, 1), date(2005, 1, 1)),))
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


def _d(text: str) -> date:
    return date.fromisoformat(text)


def test_spans_merge_and_missing_parts_by_hand():
    spans = merge_spans(
        [
            (_d("2015-01-01"), _d("2016-01-01")),
            (_d("2010-01-01"), _d("2011-01-01")),
            (_d("2010-06-01"), _d("2010-07-01")),  # inside the first
            (_d("2011-01-01"), _d("2011-02-01")),  # touching it
            (_d("2012-01-01"), _d("2012-01-01")),  # empty
        ]
    )
    assert spans == (
        (_d("2010-01-01"), _d("2011-02-01")),
        (_d("2015-01-01"), _d("2016-01-01")),
    )
    assert missing_spans(spans, _d("2009-01-01"), _d("2017-01-01")) == (
        (_d("2009-01-01"), _d("2010-01-01")),
        (_d("2011-02-01"), _d("2015-01-01")),
        (_d("2016-01-01"), _d("2017-01-01")),
    )
    assert missing_spans(spans, _d("2010-03-01"), _d("2010-04-01")) == ()
    assert missing_spans(spans, _d("2012-01-01"), _d("2013-01-01")) == (
        (_d("2012-01-01"), _d("2013-01-01")),
    )
    assert missing_spans((), _d("2012-01-01"), _d("2013-01-01")) == (
        (_d("2012-01-01"), _d("2013-01-01")),
    )


def test_several_spans_round_trip(samples_dir):
    cached = _cached(samples_dir)
    spans = ((_d("2004-01-01"), _d("2006-01-01")), (_d("2010-01-01"), _d("2011-01-01")))
    write_cache("AAPL", "1d", CachedPrices(cached.frame, spans))
    header = cache_path("AAPL", "1d").read_text().splitlines()[0]
    assert (
        header == "# stockapp price cache v2: covered 2004-01-01 2006-01-01, 2010-01-01 2011-01-01"
    )
    assert read_cache("AAPL", "1d").spans == spans


def test_a_version_1_file_is_trusted_only_from_its_first_to_its_last_bar(samples_dir):
    frame = _cached(samples_dir).frame
    # Daily bars of 2010 and of 2015 under one "covered" span: the bug the old format had.
    bars = pd.concat([frame.loc["2010"], frame.loc["2015"]])
    path = cache_path("AAPL", "1d")
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("# stockapp price cache v1: covered 2009-01-01 2016-06-01\n")
        bars.to_csv(out, index_label="Date", date_format="%Y-%m-%d")
    back = read_cache("AAPL", "1d")
    pd.testing.assert_frame_equal(back.frame, bars, check_names=False)
    assert back.spans == (
        (_d("2010-01-04"), _d("2011-01-01")),  # 2010-12-31 was the last bar of 2010
        (_d("2015-01-02"), _d("2016-01-01")),
    )


def test_spans_from_weekly_bars_end_after_the_last_week():
    index = pd.DatetimeIndex(["2016-01-04", "2016-01-11", "2016-01-18"])
    assert spans_from_bars(index, "1wk") == ((_d("2016-01-04"), _d("2016-01-25")),)
