"""How many CPU threads torch may use for a job started from the window.

``torch.set_num_threads`` is process-wide. A job started from the window leaves one core to the
GUI thread (``max(1, cores - 1)`` threads) unless the person chose to use every core: on a 2-core
machine two torch threads and the GUI thread fight for the same two cores, and the window stutters
(issue 14, measured with ``scripts/bench_gui.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


def gui_job_threads(use_all_cores: bool = False) -> int:
    """Torch threads for a job started from the window: every core, or all but one."""
    cores = os.cpu_count() or 1
    return cores if use_all_cores else max(1, cores - 1)


@contextmanager
def torch_threads(n: int) -> Iterator[int]:
    """Run the body with ``n`` torch intra-op threads, then restore the previous count."""
    import torch  # here: choosing a job's thread count needs no torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
