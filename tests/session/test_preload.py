"""A job started while the model code still loads in the background waits for that load rather
than importing the same modules from a second thread (no Qt)."""

from __future__ import annotations

import threading
import time

from stockapp.session import preload


def test_a_second_caller_waits_for_the_load_under_way(monkeypatch):
    monkeypatch.setattr(preload, "_loaded", False)
    started, release = threading.Event(), threading.Event()
    imported: list[tuple[str, str]] = []

    def slow_import(name):
        imported.append((threading.current_thread().name, name))
        started.set()
        assert release.wait(10)

    monkeypatch.setattr(preload, "_import", slow_import)
    monkeypatch.setattr(preload, "MODULES", ("stockapp.models.forecaster",))
    background = threading.Thread(target=preload.ensure_models, name="background")
    background.start()
    assert started.wait(10)
    done: list[float] = []
    job = threading.Thread(
        target=lambda: (preload.ensure_models(), done.append(time.monotonic())), name="job"
    )
    job.start()
    time.sleep(0.2)
    assert done == []  # the job waits while the background load runs
    released = time.monotonic()
    release.set()
    background.join(10)
    job.join(10)
    assert done and done[0] >= released and preload.loaded()
    assert imported == [("background", "stockapp.models.forecaster")]  # imported once
