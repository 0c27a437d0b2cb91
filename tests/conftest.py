"""Shared test set-up: headless Qt, a private STOCKAPP_HOME, and the bundled real prices."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SAMPLES = Path(__file__).resolve().parent.parent / "stockapp" / "resources" / "samples"


@pytest.fixture(autouse=True)
def stockapp_home(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own cache/config/data folders; nothing touches the user's."""
    home = tmp_path_factory.mktemp("stockapp_home")
    monkeypatch.setenv("STOCKAPP_HOME", str(home))
    return home


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """The tests train tiny networks, which gain nothing from threads; on a shared 2-core
    machine, spinning intra-op threads make them 10-100x slower."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture
def aapl_csv() -> Path:
    return SAMPLES / "AAPL.csv"


@pytest.fixture
def short_csv(tmp_path, aapl_csv):
    """The header and last 300 bars of the AAPL sample as a CSV file (the sweep tests')."""
    lines = aapl_csv.read_text().splitlines()
    path = tmp_path / "SHORT.csv"
    path.write_text("\n".join([lines[0], *lines[-300:]]) + "\n")
    return path


@pytest.fixture
def no_leaked_threads():
    """Fail a test that leaves Python threads running behind it."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"leaked threads: {leaked}"
