"""The sweep job end to end on tiny real data: resuming, nested choice, dead workers, Ray."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.runs import load_run
from stockapp.core.sweep_plan import PARTIAL_PREFIX, ROW_FILE
from stockapp.data import load_sample
from stockapp.data.series import make_series
from stockapp.errors import StockappError
from stockapp.models.sweep import DIED, SweepRequest, run_job, run_sweep
from stockapp.models.trainer import TrainConfig

BARS = 300


def _short(name="AAPL", factor=None):
    s = load_sample(name)
    frame = s.frame.iloc[-BARS:].copy()
    if factor is not None:  # scale every price of the last bars (the test span)
        cols = [c for c in frame.columns if c != "Volume"]
        frame.iloc[-factor.size :, [frame.columns.get_loc(c) for c in cols]] *= factor[:, None]
    return make_series(frame, name, f"sample {name} (last {BARS} bars)", s.report)


def _request(**grid) -> SweepRequest:
    return SweepRequest(
        grid={"model": ["gru"], "hidden": [8], **grid},
        seeds=(0,),
        spec=FeatureSpec(window=10),
        train=TrainConfig(
            epochs=1, patience=0, layers=1, dropout=0.0, batch_size=64, lr=1e-2, device="cpu"
        ),
        test_fraction=0.2,
        selection_fraction=0.2,
    )


def _with_seeds(req: SweepRequest, seeds) -> SweepRequest:
    from dataclasses import replace

    return replace(req, seeds=tuple(seeds))


def test_resume_skips_finished_runs_and_never_reads_half_written_ones(tmp_path):
    series = [_short()]
    req = _with_seeds(_request(hidden=[8, 12]), (0, 1))
    calls: list[str] = []

    def counting(job, s, should_stop=None):
        row = run_job(job, s, should_stop)
        calls.append(job.key)
        return row

    first = drain(
        run_sweep(
            series,
            req,
            tmp_path,
            engine="inline",
            should_stop=lambda: len(calls) >= 2,
            job_fn=counting,
        )
    )
    assert first.stopped and first.trained == 2 and first.total == 4
    assert len(calls) == 2
    with open(tmp_path / "results.csv") as fh:
        assert len(fh.read().strip().splitlines()) == 1 + 2
    done_keys = set(calls)
    # what a killed sweep leaves: a half-written temp folder and a folder without its row
    junk = tmp_path / "runs" / f"{PARTIAL_PREFIX}x-1-abc"
    junk.mkdir()
    (junk / "manifest.json").write_text("{half")
    one_done = next(iter(done_keys))
    assert {r["key"] for r in first.rows} == done_keys
    fake_key_folder = tmp_path / "runs" / "deadbeef"
    shutil.copytree(tmp_path / "runs" / one_done, fake_key_folder)
    (fake_key_folder / ROW_FILE).unlink()

    # a run finished by an earlier stockapp: its row lacks the signed test and has an old p
    row_path = tmp_path / "runs" / one_done / ROW_FILE
    old_row = json.loads(row_path.read_text())
    del old_row["dm_better_pvalue"]
    row_path.write_text(json.dumps({**old_row, "dm_pvalue": 0.123456}))

    calls.clear()
    second = drain(run_sweep(series, req, tmp_path, engine="inline", job_fn=counting))
    assert len(calls) == 2 and set(calls).isdisjoint(done_keys)  # only the unfinished ran
    assert not second.stopped and second.trained == 2
    assert [r["status"] for r in second.rows] == ["ok"] * 4
    # every row is tested again from its forecasts when results.csv is written
    again = next(r for r in second.rows if r["key"] == one_done)
    assert again["dm_pvalue"] != 0.123456 and again["verdict"] in ("better", "worse", "tie")
    assert 0.0 <= again["dm_better_pvalue"] <= again["dm_better_pvalue_holm"] <= 1.0
    assert not junk.exists()
    for row in second.rows:
        result, manifest = load_run(tmp_path / "runs" / row["key"])  # an ordinary run folder
        assert manifest.seed == row["seed"]
    summary = second.summary["series"][0]
    assert summary["configurations_tried"] == 2 and summary["runs"] == 4
    assert summary["verdict"].startswith("Best of 2 configurations on AAPL: GRU, window 10, ")

    calls.clear()
    third = drain(run_sweep(series, req, tmp_path, engine="inline", job_fn=counting))
    assert calls == [] and third.trained == 0 and len(third.rows) == 4


def test_the_chosen_configuration_does_not_see_the_test_span(tmp_path):
    req = _request(hidden=[4, 8], window=[10, 14])
    plain = drain(run_sweep([_short()], req, tmp_path / "a", engine="inline"))
    n_test = plain.summary["series"][0]["selection_span"]["test_bars"]
    rng = np.random.default_rng(0)
    factor = np.exp(rng.normal(0, 0.05, n_test))  # new prices on every test bar
    moved = drain(run_sweep([_short(factor=factor)], req, tmp_path / "b", engine="inline"))
    a, b = plain.summary["series"][0], moved.summary["series"][0]
    assert a["chosen"]["configuration"] == b["chosen"]["configuration"]
    sel_a = [c["selection_rmse_ratio_mean"] for c in a["configurations"]]
    sel_b = [c["selection_rmse_ratio_mean"] for c in b["configurations"]]
    assert sel_a == pytest.approx(sel_b, rel=1e-9)  # the selection span's scores did not move
    test_a = [c["test_rmse_ratio_mean"] for c in a["configurations"]]
    test_b = [c["test_rmse_ratio_mean"] for c in b["configurations"]]
    assert test_a != pytest.approx(test_b, rel=1e-3)  # while the test span's did


def dies_on_seed_1(job, series, should_stop=None):
    """A job that kills its worker process for seed 1 (a stand-in for the OOM killer)."""
    if job.seed == 1:
        os._exit(3)
    return run_job(job, series, should_stop)


def test_a_dead_worker_fails_only_its_run(tmp_path):
    req = _with_seeds(_request(), (0, 1, 2))
    outcome = drain(
        run_sweep([_short()], req, tmp_path, engine="local", workers=2, job_fn=dies_on_seed_1)
    )
    status = {r["seed"]: (r["status"], r["error"]) for r in outcome.rows}
    assert status == {0: ("ok", ""), 1: ("failed", DIED), 2: ("ok", "")}
    assert not outcome.stopped
    assert outcome.summary["runs_failed"] == 1
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(
        r["key"] for r in outcome.rows if r["status"] == "ok"
    )


def test_trained_now_counts_only_the_runs_that_finished(tmp_path):
    req = _with_seeds(_request(window=[10, 5000]), (0, 1))  # 5000 bars: longer than the series
    outcome = drain(run_sweep([_short()], req, tmp_path, engine="inline"))
    assert [r["status"] for r in outcome.rows] == ["ok", "ok", "failed", "failed"]
    assert outcome.trained == 2 and outcome.summary["runs_failed"] == 2
    again = drain(run_sweep([_short()], req, tmp_path, engine="inline"))
    assert again.trained == 0 and again.summary["runs_failed"] == 2  # failed runs are retried


def test_stopping_the_local_engine_keeps_whole_runs_only(tmp_path):
    req = _with_seeds(_request(), (0, 1, 2, 3))
    seen: list = []
    job = run_sweep(
        [_short()], req, tmp_path, engine="local", workers=2, should_stop=lambda: bool(seen)
    )
    outcome = drain(job, seen.append)
    assert outcome.stopped and 1 <= outcome.trained <= 2  # the 2 not started never start
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert folders == sorted(r["key"] for r in outcome.rows)  # no partial folder left behind
    for key in folders:
        load_run(tmp_path / "runs" / key)


def test_bad_sweeps_are_refused_in_one_sentence_before_training(tmp_path):
    s = [_short()]
    with pytest.raises(StockappError, match="Unknown engine 'gpu'"):
        drain(run_sweep(s, _request(), tmp_path, engine="gpu"))
    with pytest.raises(StockappError, match="workers must be at least 1"):
        drain(run_sweep(s, _request(), tmp_path, workers=0))
    with pytest.raises(StockappError, match="window must be at least 2"):
        drain(run_sweep(s, _request(window=[1]), tmp_path, engine="inline"))
    with pytest.raises(StockappError, match="Unknown model type 'cnn'"):
        drain(run_sweep(s, _request(model=["cnn"]), tmp_path, engine="inline"))
    with pytest.raises(StockappError, match="at least one seed"):
        drain(run_sweep(s, _with_seeds(_request(), ()), tmp_path, engine="inline"))
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_the_ray_engine_runs_the_same_job(tmp_path, local_ray):
    req = _with_seeds(_request(), (0, 1))
    by_ray = drain(run_sweep([_short()], req, tmp_path / "ray", engine="ray"))
    inline = drain(run_sweep([_short()], req, tmp_path / "inline", engine="inline"))
    assert [r["status"] for r in by_ray.rows] == ["ok", "ok"]
    assert [r["key"] for r in by_ray.rows] == [r["key"] for r in inline.rows]
    assert [r["rmse"] for r in by_ray.rows] == pytest.approx(
        [r["rmse"] for r in inline.rows], rel=1e-6
    )
    assert local_ray.is_initialized()  # a Ray it did not start is left running
