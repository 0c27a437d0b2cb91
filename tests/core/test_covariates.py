"""Aligning other series to the target's calendar (issue 24): the forecast of the bar dated d
reads their bars dated strictly before d, gaps are carried forward and counted, a later start
shortens the span with one sentence; calendar inputs; the manifest records it all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockapp.core.covariates import (
    Covariate,
    align_covariates,
    as_of_positions,
    calendar_column,
    column_name,
    parse_request,
)
from stockapp.core.dataset import training_set
from stockapp.core.features import FeatureSpec, feature_matrix
from stockapp.core.manifest import MANIFEST_VERSION, RunManifest
from stockapp.errors import DataError


def _frame(dates, seed=0, ohlc=False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(dates))))
    out = {"Close": close}
    if ohlc:
        out.update(High=close * 1.01, Low=close * 0.99, Volume=rng.integers(1, 1000, len(dates)))
    return pd.DataFrame(out, index=pd.DatetimeIndex(dates, name="Date"))


def _read_before(target: pd.DatetimeIndex, cov: pd.DataFrame, d: pd.Timestamp) -> float:
    """A second implementation: the covariate's log return from its last close dated on or
    before the target's bar before ``d``'s predecessor to its last close on or before the bar
    before ``d``: what the window that forecasts ``d`` ends with."""
    i = target.get_loc(d)
    a, b = target[i - 2], target[i - 1]
    c = cov["Close"]
    return float(np.log(c[c.index <= b].iloc[-1] / c[c.index <= a].iloc[-1]))


def test_the_window_forecasting_d_ends_with_the_covariates_move_before_d():
    target = pd.bdate_range("2020-01-06", periods=60)
    # the other market trades on other days (some weekends, missing some weekdays)
    other = pd.DatetimeIndex(
        sorted(set(pd.date_range("2020-01-01", periods=90)) - set(target[::7]))
    )
    cov = _frame(other, seed=1)
    aligned = align_covariates(_frame(target), [Covariate("X", cov)])
    col = aligned.frame[column_name("X", "return")].to_numpy()
    idx = aligned.frame.index
    for t in range(3, len(idx)):  # the window forecasting bar t ends at row t - 1
        assert col[t - 1] == pytest.approx(_read_before(idx, cov, idx[t]), abs=1e-12)


def test_perturbing_a_covariate_from_a_date_on_changes_no_row_a_forecast_up_to_it_reads():
    target = pd.bdate_range("2020-01-06", periods=80)
    cov = _frame(target, seed=2, ohlc=True)
    feats = ("return", "abs_return", "range", "volume")
    base = align_covariates(_frame(target), [Covariate("X", cov, feats)], ("dow", "month"))
    for cut in target[[10, 40, 79]]:
        moved = cov.copy()
        later = moved.index >= cut  # bars dated on d too: the bar dated d never reads day d
        moved.loc[later, ["Close", "High", "Low"]] *= 1.3
        moved.loc[later, "Volume"] += 7
        other = align_covariates(_frame(target), [Covariate("X", moved, feats)], ("dow", "month"))
        rows = base.frame.index < cut  # rows the forecasts of bars up to ``cut`` read
        pd.testing.assert_frame_equal(other.frame[rows], base.frame[rows])
        assert not other.frame[~rows].equals(base.frame[~rows])


def test_a_missing_bar_is_carried_forward_and_counted():
    target = pd.bdate_range("2021-03-01", periods=30)
    holes = target[[5, 6, 20]]
    cov = _frame(target.difference(holes), seed=3, ohlc=True)
    aligned = align_covariates(
        _frame(target), [Covariate("X", cov, ("return", "range"))], target_name="T"
    )
    assert aligned.records[0]["carried_forward"] == 3
    assert aligned.dropped == 0
    rng = aligned.frame[column_name("X", "range")]
    assert rng[holes[0]] == rng[target[4]] == rng[holes[1]]  # the earlier bar carried
    ret = aligned.frame[column_name("X", "return")]
    assert ret[holes[0]] == 0.0 and ret[holes[1]] == 0.0
    # the move over the hole lands on the next bar the other series has
    whole = np.log(cov["Close"][target[7]] / cov["Close"][target[4]])
    assert ret[target[7]] == pytest.approx(whole)
    assert aligned.sentences == (
        "X has no bar on 3 of T's dates; its earlier bar was carried forward there.",
    )
    assert aligned.quality()["covariates"][0]["carried_forward"] == 3


def test_a_later_covariate_shortens_the_span_with_one_sentence():
    target = pd.bdate_range("2019-01-01", periods=100)
    cov = _frame(target[30:], seed=4)
    aligned = align_covariates(_frame(target), [Covariate("LATE", cov)], target_name="T")
    assert aligned.frame.index[0] == target[30]  # its first return is defined on the next bar
    assert aligned.dropped == 30
    assert np.isnan(aligned.frame[column_name("LATE", "return")].iloc[0])
    assert np.isfinite(aligned.frame[column_name("LATE", "return")].iloc[1:]).all()
    assert aligned.sentences == (
        "LATE starts on 2019-02-12, after T's first bar (2019-01-01), so the span starts on "
        "2019-02-12: 30 bars fewer.",
    )


def test_a_covariate_after_the_whole_span_is_refused_in_one_sentence():
    target = pd.bdate_range("2019-01-01", periods=50)
    cov = _frame(pd.bdate_range("2022-01-03", periods=50))
    with pytest.raises(DataError, match="has no bar before"):
        align_covariates(_frame(target), [Covariate("X", cov)])


def test_the_scaler_learns_the_covariates_scale_from_the_training_rows_only():
    target = pd.bdate_range("2018-01-01", periods=300)
    cov = _frame(target, seed=5)
    aligned = align_covariates(_frame(target), [Covariate("X", cov)])
    spec = FeatureSpec(window=10, features=("log_return", *aligned.columns))
    data = training_set(aligned.frame, spec, val_fraction=0.2)
    feats = feature_matrix(aligned.frame, spec)
    last = int(data.train_ends[-1]) + 1
    assert data.scaler.feature_std[1] == pytest.approx(np.nanstd(feats[1:last, 1]))
    assert data.scaler.feature_mean[1] == pytest.approx(np.nanmean(feats[1:last, 1]))


def test_calendar_inputs_describe_the_bar_being_forecast():
    dates = pd.DatetimeIndex(["2024-01-29", "2024-01-30", "2024-01-31", "2024-02-02"])
    assert calendar_column(dates, "dow").tolist() == [1, 2, 4, 0]  # the last: next weekday
    assert calendar_column(dates, "month").tolist() == [1, 1, 2, 2]
    # a forward record knows the next bar from the exchange calendar (Monday a holiday)
    holiday = pd.Timestamp("2024-02-06")
    assert calendar_column(dates, "dow", holiday).tolist() == [1, 2, 4, 1]
    frame = align_covariates(_frame(dates), calendar=("dow",), next_date=holiday).frame
    assert frame["cal:dow"].tolist() == [1, 2, 4, 1]


def test_requests_name_the_series_and_its_features():
    assert parse_request("SPY") == ("SPY", ("return",))
    assert parse_request("^GSPC:return,range") == ("^GSPC", ("return", "range"))
    assert parse_request(r"C:\data\x.csv") == (r"C:\data\x.csv", ("return",))
    with pytest.raises(DataError, match="Unknown covariate feature 'rnage'"):
        parse_request("SPY:return,rnage")


def test_a_spec_names_covariates_and_refuses_data_without_them():
    spec = FeatureSpec(features=("log_return", "with:SPY:return", "cal:dow"))
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(DataError, match="another series"):
        spec.check_columns(["Close"])
    with pytest.raises(DataError, match="not a covariate input"):
        FeatureSpec(features=("with:SPY",))
    with pytest.raises(DataError, match="Unknown calendar input"):
        FeatureSpec(features=("cal:year",))


def test_the_manifest_records_the_inputs_and_older_ones_still_open():
    record = {"name": "SPY", "features": ["return"], "source": "sample SPY", "carried_forward": 2}
    m = RunManifest(covariates=(record,), calendar=("dow",))
    raw = m.to_dict()
    assert raw["covariates"] == [record] and raw["calendar"] == ["dow"]
    assert raw["manifest_version"] == MANIFEST_VERSION == 3
    again = RunManifest.from_dict(raw)
    assert again.covariates == (record,) and again.calendar == ("dow",)
    assert again.inputs_dict() == {"covariates": [record], "calendar": ["dow"]}
    old = RunManifest.from_dict({"format": 1, "manifest_version": 2})
    assert old.covariates == () and old.inputs_dict() is None
    assert "covariates" not in old.to_dict()


def test_as_of_positions_never_take_a_later_bar():
    target = pd.DatetimeIndex(["2020-01-02", "2020-01-03", "2020-01-07"])
    cov = pd.DatetimeIndex(["2020-01-03", "2020-01-06", "2020-01-08"])
    assert as_of_positions(target, cov).tolist() == [-1, 0, 1]
