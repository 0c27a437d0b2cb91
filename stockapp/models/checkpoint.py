"""Saved models as two plain files: ``model.safetensors`` (weights) and ``model.json`` (the rest).

Weights are written and read with safetensors only, so opening a model can never run code the
way unpickling a ``torch.save`` file can; everything else (sizes, features, scaler, training
settings and history, library versions) is readable JSON. Each file is written atomically
(:mod:`stockapp.core.atomic`), so an interrupted save leaves the old file intact.

A model that was refitted during a backtest also keeps the weights of its earlier fits, so the
forecast of any test bar can be explained with the fit that made it: ``fits.safetensors`` holds
fit ``k``'s tensors under ``fit{k}.<name>`` for every fit but the last (the last fit is
``model.safetensors`` itself), and ``fits.json`` each of those fits' training record. All fits
share the model's sizes, features and scaler (a refit keeps the scaling). A fit of the default
model (LSTM, 2 x 64 units) is 203 KB of float32 weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from stockapp.core.atomic import write_bytes, write_text
from stockapp.errors import ModelError

WEIGHTS = "model.safetensors"
META = "model.json"
FIT_WEIGHTS = "fits.safetensors"
FIT_META = "fits.json"
#: Bumped when the layout of ``model.json`` or the weight names change incompatibly.
FORMAT_VERSION = 1


def _cpu(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous() for k, v in state.items()}


def save_checkpoint(folder: Path, state: dict[str, torch.Tensor], meta: dict) -> None:
    """Write ``state`` and ``meta`` (plus ``"format"``) into ``folder``, creating it if needed."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps({**meta, "format": FORMAT_VERSION}, indent=2, allow_nan=False)
        write_bytes(folder / WEIGHTS, save(_cpu(state)))
        write_text(folder / META, text + "\n")
    except OSError as exc:
        raise ModelError(f"Could not save the model in {folder}: {exc.strerror or exc}.") from exc


def save_fits(folder: Path, states: list[dict[str, torch.Tensor]], records: list[dict]) -> None:
    """Write the weights and training records of a model's earlier fits (all but the last)."""
    folder = Path(folder)
    tensors = {
        f"fit{k}.{name}": t for k, state in enumerate(states) for name, t in _cpu(state).items()
    }
    text = json.dumps({"format": FORMAT_VERSION, "fits": records}, indent=2, allow_nan=False)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes(folder / FIT_WEIGHTS, save(tensors, metadata={"fits": str(len(states))}))
        write_text(folder / FIT_META, text + "\n")
    except OSError as exc:
        raise ModelError(f"Could not save the model in {folder}: {exc.strerror or exc}.") from exc


def load_fits(folder: Path, count: int) -> tuple[list[dict[str, torch.Tensor]], list[dict]]:
    """The weights and training records of the first ``count`` fits saved by :func:`save_fits`.

    Raises a one-sentence :class:`ModelError` when the files are missing, not safetensors, or
    do not hold ``count`` fits.
    """
    folder = Path(folder)
    weights, meta_path = folder / FIT_WEIGHTS, folder / FIT_META
    if not weights.is_file() or not meta_path.is_file():
        raise ModelError(
            f"The model in {folder} records {count + 1} fits but has no {FIT_WEIGHTS} and "
            f"{FIT_META} for the first {count}; the folder is incomplete."
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        records = list(meta["fits"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise ModelError(f"{meta_path} could not be read; the file is damaged.") from None
    try:
        flat = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError):
        raise ModelError(
            f"{weights} is not a safetensors weights file, so it was not opened (other "
            "formats, such as pickles, can run code)."
        ) from None
    states: list[dict[str, torch.Tensor]] = [{} for _ in range(count)]
    for key, tensor in flat.items():
        head, _, name = key.partition(".")
        k = int(head[3:]) if head.startswith("fit") and head[3:].isdigit() else -1
        if not 0 <= k < count:
            raise ModelError(f"{weights} holds weights of no fit of this model ({key}).")
        states[k][name] = tensor
    if len(records) != count or not all(states):
        raise ModelError(
            f"{folder} should hold {count} earlier fits but {FIT_WEIGHTS} and {FIT_META} do "
            "not; the files do not belong together."
        )
    return states, records


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
