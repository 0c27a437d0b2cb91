"""``scripts/dev.sh`` installs on a fresh checkout and again only when the install would change.

The script runs in a copy of the checkout with a fake Python: it logs every call, creates the
venv on ``-m venv``, "installs" by creating ``.venv/bin/stockapp`` on ``-m pip install -e``, and
hands ``-c`` snippets to the real interpreter. The log shows whether pip ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FAKE_PYTHON = """#!/bin/sh
case "$1" in
  -c) exec "$REAL_PYTHON" "$@" ;;
esac
echo "python $*" >> "$DEV_LOG"
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
elif [ "$1 $2 $3" = "-m pip install" ]; then
  for arg in "$@"; do
    if [ "$arg" = "-e" ]; then
      printf '#!/bin/sh\\necho "stockapp $*" >> "$DEV_LOG"\\n' > .venv/bin/stockapp
      chmod +x .venv/bin/stockapp
    fi
  done
fi
"""


@pytest.fixture
def checkout(tmp_path) -> Path:
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "dev.sh", root / "scripts" / "dev.sh")
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON, encoding="utf-8")
    fake.chmod(0o755)
    return root


def dev(checkout: Path, *args: str, **env: str) -> list[str]:
    """Run ``scripts/dev.sh args``; the calls it made, one per line."""
    log = checkout.parent / "log.txt"
    log.write_text("", encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("STOCKAPP_", "PYTHON"))}
    environ.update(
        PYTHON=str(checkout.parent / "python"),
        REAL_PYTHON=sys.executable,
        DEV_LOG=str(log),
        **env,
    )
    done = subprocess.run(
        ["bash", "scripts/dev.sh", *args],
        cwd=checkout,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return log.read_text(encoding="utf-8").splitlines()


def pip_calls(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("python -m pip")]


def test_fresh_checkout_installs_torch_and_stockapp(checkout):
    calls = dev(checkout, "run", "samples")
    assert calls[0].startswith("python -m venv")
    pips = pip_calls(calls)
    assert len(pips) == 2
    assert pips[0].endswith("torch==2.13.0")
    assert pips[1].endswith("-e .")
    assert calls[-1] == "stockapp samples"


def test_second_run_with_nothing_changed_skips_pip(checkout):
    dev(checkout, "run", "samples")
    assert dev(checkout, "run", "samples") == ["stockapp samples"]


def test_changed_pyproject_reinstalls(checkout):
    dev(checkout, "run", "samples")
    with (checkout / "pyproject.toml").open("a", encoding="utf-8") as out:
        out.write("\n# a new dependency\n")
    assert len(pip_calls(dev(checkout, "run", "samples"))) == 2


@pytest.mark.parametrize(
    "env",
    [
        {"STOCKAPP_TORCH": "torch==2.12.0"},
        {"STOCKAPP_TORCH_INDEX": "https://download.pytorch.org/whl/cpu"},
    ],
)
def test_changed_torch_choice_reinstalls_once(checkout, env):
    dev(checkout, "run", "samples")
    assert len(pip_calls(dev(checkout, "run", "samples", **env))) == 2
    assert dev(checkout, "run", "samples", **env) == ["stockapp samples"]


def test_reinstall_can_be_forced(checkout):
    dev(checkout, "run", "samples")
    assert len(pip_calls(dev(checkout, "run", "samples", STOCKAPP_REINSTALL="1"))) == 2


def test_lost_command_reinstalls(checkout):
    dev(checkout, "run", "samples")
    (checkout / ".venv" / "bin" / "stockapp").unlink()
    assert len(pip_calls(dev(checkout, "run", "samples"))) == 2


def test_test_extras_are_installed_once_and_cover_run(checkout):
    dev(checkout, "run", "samples")
    pips = pip_calls(dev(checkout, "test", "-x"))
    assert pips and pips[-1].endswith("-e .[test]")
    assert dev(checkout, "test", "-x") == ["python -m pytest -q -x"]
    assert dev(checkout, "run", "samples") == ["stockapp samples"]
