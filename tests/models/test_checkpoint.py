"""Checkpoints are two plain files; anything else is refused with a sentence, never executed."""

from __future__ import annotations

import json
import pathlib
import pickle

import pytest
import torch

from stockapp.errors import ModelError
from stockapp.models.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint


class _Payload:
    """Unpickling this creates ``path``: proof that code ran."""

    def __init__(self, path: pathlib.Path):
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (self.path,))


@pytest.fixture
def saved(tmp_path) -> pathlib.Path:
    folder = tmp_path / "model"
    save_checkpoint(folder, {"w": torch.arange(6.0).reshape(2, 3)}, {"note": "hi"})
    return folder


def test_round_trip(saved):
    state, meta = load_checkpoint(saved)
    assert torch.equal(state["w"], torch.arange(6.0).reshape(2, 3))
    assert meta == {"note": "hi", "format": FORMAT_VERSION}
    assert json.loads((saved / "model.json").read_text()) == meta
    assert sorted(p.name for p in saved.iterdir()) == ["model.json", "model.safetensors"]


def test_a_pickle_is_refused_without_being_run(saved, tmp_path):
    proof = tmp_path / "payload_really_works"
    pickle.loads(pickle.dumps(_Payload(proof)))
    assert proof.exists()  # the payload is live: unpickling it would run code

    marker = tmp_path / "was_unpickled"
    (saved / "model.safetensors").write_bytes(pickle.dumps({"w": _Payload(marker)}))
    with pytest.raises(ModelError, match=r"model\.safetensors is not a safetensors weights file"):
        load_checkpoint(saved)
    assert not marker.exists()


def test_a_torch_save_file_is_refused(saved):
    torch.save({"w": torch.zeros(2)}, saved / "model.safetensors")
    with pytest.raises(ModelError, match="not a safetensors weights file, so it was not opened"):
        load_checkpoint(saved)


def test_corrupt_json(saved):
    (saved / "model.json").write_text('{"format": 1,', encoding="utf-8")
    with pytest.raises(ModelError, match=r"model\.json is not valid JSON \(line 1\)"):
        load_checkpoint(saved)


@pytest.mark.parametrize("part", ["model.json", "model.safetensors"])
def test_missing_part(saved, part):
    (saved / part).unlink()
    with pytest.raises(ModelError, match=f"has no {part}; it is incomplete"):
        load_checkpoint(saved)


def test_missing_folder(tmp_path):
    with pytest.raises(ModelError, match="There is no saved model at"):
        load_checkpoint(tmp_path / "nothing")


@pytest.mark.parametrize(
    ("version", "words"), [(FORMAT_VERSION + 1, "newer stockapp"), ("x", "unknown format")]
)
def test_unknown_format_version(saved, version, words):
    meta = json.loads((saved / "model.json").read_text())
    (saved / "model.json").write_text(json.dumps({**meta, "format": version}))
    with pytest.raises(ModelError, match=words):
        load_checkpoint(saved)


def test_saving_again_replaces_both_files(saved):
    save_checkpoint(saved, {"w": torch.ones(1)}, {"note": "second"})
    state, meta = load_checkpoint(saved)
    assert meta["note"] == "second" and torch.equal(state["w"], torch.ones(1))
    assert not list(saved.glob("*.tmp"))
