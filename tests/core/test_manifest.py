"""The typed run manifest: read by attribute, every older version still read, every key kept.

``tests/fixtures/runs/v1_main_38f9ed5`` is a run written by main at 38f9ed5, before the manifest
was typed (version 1: no ``manifest_version``, the data's source only in words).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stockapp.core.data_source import DataSource, legacy_source
from stockapp.core.manifest import MANIFEST_VERSION, DataRecord, RunManifest
from stockapp.core.runs import load_run, save_run
from stockapp.errors import BacktestError

V1_RUN = Path(__file__).resolve().parents[1] / "fixtures" / "runs" / "v1_main_38f9ed5"


def _v1() -> dict:
    return json.loads((V1_RUN / "manifest.json").read_text(encoding="utf-8"))


def test_a_version_1_run_opens_and_reads_by_attribute():
    raw = _v1()
    assert "manifest_version" not in raw and "data_source" not in raw["data"]
    result, manifest = load_run(V1_RUN)
    assert manifest.manifest_version == 1
    assert manifest.data.name == "AAPL" and manifest.data.adjusted is True
    assert manifest.data.fingerprint == raw["data"]["fingerprint"]
    # the source in words is read once, here, into the typed identity
    assert manifest.data.data_source == DataSource("sample", "AAPL", "1d", True)
    assert manifest.seed == 1 and manifest.model_kind == "lstm"
    assert manifest.model_name == "LSTM" and manifest.shown_model_name == "LSTM"
    assert manifest.bars_per_year == raw["periods_per_year"]
    assert manifest.timings.fit_seconds == raw["timings"]["fit_seconds"]
    assert manifest.quality_warnings == []
    assert manifest.spec().window == 10 and manifest.settings().refit_every == 60
    assert [f.to_dict() for f in manifest.fits] == raw["fits"]
    assert len(result.fits) == len(raw["fits"]) == 3


def test_every_key_of_a_version_1_manifest_is_written_back(tmp_path):
    raw = _v1()
    again = RunManifest.from_dict(raw).to_dict()
    assert again["manifest_version"] == 1
    for key, value in raw.items():
        if key == "data":
            assert {k: again["data"][k] for k in value} == value
        else:
            assert again[key] == value, key
    assert set(again) - set(raw) == {"manifest_version"}
    assert set(again["data"]) - set(raw["data"]) == {"data_source"}


def test_a_resaved_version_1_run_becomes_the_current_version(tmp_path):
    result, manifest = load_run(V1_RUN)
    folder = save_run(tmp_path / "again", result, manifest, model_name="LSTM")
    raw = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert raw["manifest_version"] == MANIFEST_VERSION
    assert raw["data"]["data_source"] == {
        "kind": "sample",
        "where": "AAPL",
        "interval": "1d",
        "adjusted": True,
        "dayfirst": None,
    }
    _, reopened = load_run(folder)
    assert reopened.data == manifest.data and reopened.fits == manifest.fits


def test_unknown_keys_are_kept():
    raw = {**_v1(), "reviewed_by": {"tool": "audit", "ok": True}}
    raw["data"] = {**raw["data"], "note": "kept"}
    again = RunManifest.from_dict(raw)
    assert again.extra == {"reviewed_by": {"tool": "audit", "ok": True}}
    assert again.to_dict()["reviewed_by"] == {"tool": "audit", "ok": True}
    assert again.to_dict()["data"]["note"] == "kept"


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("sample AAPL", "AAPL", DataSource("sample", "AAPL", "1d")),
        ("CSV /x/y z.csv", "y z", DataSource("csv", "/x/y z.csv")),
        ("Yahoo Finance MSFT (1wk)", "MSFT", DataSource("ticker", "MSFT", "1wk")),
        (
            "Yahoo Finance MSFT (1d). Yahoo could not be reached; cached bars",
            "MSFT",
            DataSource("ticker", "MSFT", "1d"),
        ),
        ("something else", "X", DataSource("unknown")),
    ],
)
def test_old_source_words_are_read_into_the_typed_identity(text, name, expected):
    record = DataRecord.from_dict({"name": name, "source": text, "adjusted": True})
    assert record.data_source == expected
    assert legacy_source(text, name) == expected


def test_the_typed_identity_is_what_a_version_2_manifest_records():
    origin = DataSource("csv", "/data/prices.csv", "1wk", False, dayfirst=True)
    raw = {"name": "prices", "source": "CSV /elsewhere.csv", "data_source": origin.to_dict()}
    assert DataRecord.from_dict(raw).data_source == origin  # never the words


def test_a_damaged_fit_is_one_sentence(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(V1_RUN, folder)
    raw = _v1()
    raw["fits"][0] = {"first_test_date": "2017-05-01"}
    (folder / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(BacktestError, match="is damaged"):
        load_run(folder)


def test_a_minimal_manifest_reads():
    m = RunManifest.from_dict({"format": 1})
    assert m.data is None and m.data_name == "" and m.shown_model_name == "Model"
    assert m.bars_per_year == 252.0 and m.quality_warnings is None and m.created is None
