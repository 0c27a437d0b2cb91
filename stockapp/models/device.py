"""Which compute device trains and runs the networks: CUDA, Apple MPS or the CPU.

Names follow torch (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``) plus ``"auto"``, which picks
the fastest device present. A device the machine lacks is a :class:`ModelError` with a sentence
that says what to choose instead, never a torch traceback.
"""

from __future__ import annotations

import torch

from stockapp.errors import ModelError

_CHOICES = "'auto', 'cpu', 'cuda' or 'mps'"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Device names usable on this machine, CPU first (``"cuda"`` is the first GPU)."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names.append("cuda")
        names.extend(f"cuda:{i}" for i in range(1, torch.cuda.device_count()))
    if _mps_available():
        names.append("mps")
    return names


def resolve_device(name: str = "auto") -> torch.device:
    """The :class:`torch.device` for ``name``; ``"auto"`` means CUDA, then MPS, then the CPU."""
    key = str(name).strip().lower()
    if key == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", 0)
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(key)
    except (RuntimeError, ValueError):
        raise ModelError(f"Unknown device '{name}'; choose {_CHOICES}.") from None
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelError("No CUDA GPU is available on this machine; choose 'cpu' or 'auto'.")
        index = 0 if device.index is None else device.index
        count = torch.cuda.device_count()
        if index >= count:
            raise ModelError(
                f"There is no GPU cuda:{index} on this machine (it has {count}); choose one of "
                f"{', '.join(available_devices())} or 'auto'."
            )
        return torch.device("cuda", index)
    if device.type == "mps":
        if not _mps_available():
            raise ModelError(
                "Apple's MPS GPU is not available on this machine; choose 'cpu' or 'auto'."
            )
        return torch.device("mps")
    raise ModelError(f"Unknown device '{name}'; choose {_CHOICES}.")


def describe_device(device: torch.device | str) -> str:
    """A short label for people: ``"NVIDIA H100 80GB HBM3 (cuda:0)"``, ``"CPU (2 threads)"``."""
    device = torch.device(device)
    if device.type == "cuda":
        index = torch.cuda.current_device() if device.index is None else device.index
        return f"{torch.cuda.get_device_name(index)} (cuda:{index})"
    if device.type == "mps":
        return "Apple GPU (mps)"
    if device.type == "cpu":
        threads = torch.get_num_threads()
        return f"CPU ({threads} thread{'s' if threads != 1 else ''})"
    return str(device)
