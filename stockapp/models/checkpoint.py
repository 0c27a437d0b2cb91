"""Saved models as two plain files: ``model.safetensors`` (weights) and ``model.json`` (the rest).

Weights are written and read with safetensors only, so opening a model can never run code the
way unpickling a ``torch.save`` file can; everything else (sizes, features, scaler, training
settings and history, library versions) is readable JSON. Each file is written to a temporary
name first and then moved into place, so an interrupted save leaves the old model intact.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from stockapp.errors import ModelError

WEIGHTS = "model.safetensors"
META = "model.json"
#: Bumped when the layout of ``model.json`` or the weight names change incompatibly.
FORMAT_VERSION = 1


def save_checkpoint(folder: Path, state: dict[str, torch.Tensor], meta: dict) -> None:
    """Write ``state`` and ``meta`` (plus ``"format"``) into ``folder``, creating it if needed."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
        text = json.dumps({**meta, "format": FORMAT_VERSION}, indent=2, allow_nan=False)
        tmp_weights = folder / (WEIGHTS + ".tmp")
        tmp_meta = folder / (META + ".tmp")
        save_file(tensors, str(tmp_weights))
        tmp_meta.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp_weights, folder / WEIGHTS)
        os.replace(tmp_meta, folder / META)
    except OSError as exc:
        raise ModelError(f"Could not save the model in {folder}: {exc.strerror or exc}.") from exc


def load_checkpoint(folder: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a folder written by :func:`save_checkpoint`; weights land on the CPU.

    Raises a one-sentence :class:`ModelError` for a missing folder or file, weights that are not
    safetensors (they are refused, never executed), unreadable JSON or an unknown format.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"There is no saved model at {folder}.")
    for name in (META, WEIGHTS):
        if not (folder / name).is_file():
            raise ModelError(
                f"The saved model in {folder} has no {name}; it is incomplete, save it again."
            )
    meta_path = folder / META
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(
            f"{meta_path} is not valid JSON (line {exc.lineno}); the file is damaged."
        ) from None
    except (UnicodeDecodeError, OSError):
        raise ModelError(f"{meta_path} could not be read as text; the file is damaged.") from None
    if not isinstance(meta, dict):
        raise ModelError(f"{meta_path} does not describe a model; the file is damaged.")
    version = meta.get("format")
    if version != FORMAT_VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            raise ModelError(
                f"The model in {folder} was saved in format {version} by a newer stockapp; "
                "update stockapp to open it."
            )
        raise ModelError(
            f"The model in {folder} has an unknown format version ({version!r}); this stockapp "
            f"reads format {FORMAT_VERSION}."
        )
    weights_path = folder / WEIGHTS
    try:
        state = load_file(str(weights_path), device="cpu")
    except (SafetensorError, OSError, ValueError):
        raise ModelError(
            f"{weights_path} is not a safetensors weights file, so it was not opened (other "
            "formats, such as pickles, can run code)."
        ) from None
    return state, meta
