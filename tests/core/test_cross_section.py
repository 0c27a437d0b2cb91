"""Cross-section scores (issue 24): IC and rank IC per day against scipy's pearsonr and
spearmanr, the rank hit rate and the top-minus-bottom portfolio against loops written here, and
signed verdicts on planted skill, none and anti-skill."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from stockapp.core.cross_section import cross_section_scores, top_minus_bottom_weights


def _panel(skill: float, n_dates=400, n_series=8, seed=0, holes=True):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=n_dates)
    names = [f"S{i}" for i in range(n_series)]
    signal = rng.normal(0, 0.01, (n_dates, n_series))
    realised = skill * signal + rng.normal(0, 0.01, (n_dates, n_series))
    forecast = signal.copy()
    if holes:  # some series missing on some dates; a few dates with under three series
        forecast[rng.random(forecast.shape) < 0.1] = np.nan
        forecast[5, 2:] = np.nan
    return (pd.DataFrame(forecast, dates, names), pd.DataFrame(realised, dates, names))


def test_ic_and_rank_ic_are_scipys_per_day():
    f, r = _panel(0.5)
    cs = cross_section_scores(f, r)
    for date, row in cs.daily.iterrows():
        ok = f.loc[date].notna() & r.loc[date].notna()
        a, b = f.loc[date][ok].to_numpy(), r.loc[date][ok].to_numpy()
        assert row["ic"] == pytest.approx(stats.pearsonr(a, b)[0], abs=1e-12)
        assert row["rank_ic"] == pytest.approx(stats.spearmanr(a, b)[0], abs=1e-12)
    assert f.index[5] not in cs.daily.index  # two series only that day
    assert cs.n_dates == len(cs.daily) == 399


def test_ties_and_a_flat_day():
    dates = pd.bdate_range("2021-01-01", periods=3)
    f = pd.DataFrame([[1, 1, 2, 3], [1, 1, 1, 1], [0.3, 0.1, 0.2, 0.4]], dates, list("abcd"))
    r = pd.DataFrame([[0.1, 0.3, 0.2, 0.5], [1, 2, 3, 4], [1, 2, 3, 4]], dates, list("abcd"))
    daily = cross_section_scores(f, r).daily
    assert daily["rank_ic"].iloc[0] == pytest.approx(stats.spearmanr(f.iloc[0], r.iloc[0])[0])
    assert np.isnan(daily["ic"].iloc[1]) and np.isnan(daily["rank_ic"].iloc[1])


def test_the_hit_rate_and_the_portfolio_against_loops():
    f, r = _panel(0.3, n_dates=60, n_series=7, seed=4)
    cost = 10.0
    cs = cross_section_scores(f, r, cost_bps=cost)
    hits, tmb, prev = [], [], np.zeros(7)
    for date in cs.daily.index:
        fr, rr = f.loc[date].to_numpy(), r.loc[date].to_numpy()
        ok = np.isfinite(fr) & np.isfinite(rr)
        fm, rm = np.median(fr[ok]), np.median(rr[ok])
        good = [np.sign(a - fm) == np.sign(b - rm) for a, b in zip(fr[ok], rr[ok], strict=True)
                if a != fm and b != rm]  # fmt: skip
        hits.append(np.mean(good))
        k = max(1, ok.sum() // 3)
        order = sorted(np.flatnonzero(ok), key=lambda i: fr[i])
        w = np.zeros(7)
        w[order[-k:]], w[order[:k]] = 1 / k, -1 / k
        gross = sum(w[i] * (np.exp(rr[i]) - 1) for i in np.flatnonzero(ok))
        tmb.append(gross - cost / 1e4 * np.abs(w - prev).sum())
        prev = w
    tmb[-1] -= cost / 1e4 * np.abs(prev).sum()
    np.testing.assert_allclose(cs.daily["hit_rate"], hits)
    np.testing.assert_allclose(cs.daily["tmb"], tmb)
    assert cs.tmb_total_return == pytest.approx(np.prod(1 + np.array(tmb)) - 1)


def test_weights_are_a_third_each_side():
    w = top_minus_bottom_weights(
        np.array([[5.0, 1.0, 3.0, 2.0, 4.0, 0.0], [1, 2, np.nan, np.nan, np.nan, np.nan]])
    )
    assert w[0].tolist() == [0.5, -0.5, 0, 0, 0.5, -0.5]
    assert not w[1].any()


@pytest.mark.parametrize(("skill", "verdict"), [(0.6, "better"), (0.0, "tie"), (-0.6, "worse")])
def test_verdicts_are_signed(skill, verdict):
    cs = cross_section_scores(*_panel(skill, seed=1), cost_bps=0.0)  # (costs alone lose)
    assert cs.ic.verdict == cs.rank_ic.verdict == cs.hit_rate.verdict == verdict
    assert cs.top_minus_bottom.verdict == verdict
    if verdict == "better":
        assert cs.rank_ic.mean > 0.2 and cs.rank_ic.t > 3
    text = " ".join(cs.sentences("GRU"))
    assert "GRU ranks 8 series on 399 dates" in text and "Newey-West t" in text
    assert cs.to_dict()["summary"] == cs.sentences()
