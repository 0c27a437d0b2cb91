"""A built wheel is a working install: the samples travel inside it and the command finds them.

The wheel is built from a copy of the sources (so the shared checkout gets no ``build/`` folder),
installed without its dependencies into a throwaway virtual environment that sees the dev
environment's site-packages through a ``.pth`` line (which adds the folder but does not run the
editable install's hook), and run from outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FILES = {
    "AAPL.csv",
    "GOOG.csv",
    "INTC.csv",
    "MSFT.csv",
    "SPY.csv",
    "^GSPC.csv",
    "SOURCES.md",
}


def _run(*cmd, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    shutil.copy2(ROOT / "pyproject.toml", src)
    shutil.copy2(ROOT / "README.md", src)
    shutil.copytree(
        ROOT / "stockapp", src / "stockapp", ignore=shutil.ignore_patterns("__pycache__")
    )
    out = tmp_path_factory.mktemp("wheels")
    done = _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-q",
        "-w",
        out,
        src,
        cwd=src,
    )
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("stockapp-*.whl")
    return path


def test_wheel_contains_the_samples(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith("stockapp/resources/samples/")}
    assert shipped == SAMPLE_FILES


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A venv holding only the wheel's stockapp; its dependencies come from the dev env."""
    env_dir = tmp_path_factory.mktemp("env")
    done = _run(sys.executable, "-m", "venv", "--without-pip", env_dir, cwd=env_dir)
    assert done.returncode == 0, done.stderr
    python = env_dir / "bin" / "python"
    site = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=env_dir
    )
    Path(site.stdout.strip(), "dev_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    done = _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-index",
        "-q",
        wheel,
        cwd=env_dir,
    )
    assert done.returncode == 0, done.stderr
    return env_dir


def _clean_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["STOCKAPP_HOME"] = str(home)
    return env


def test_installed_copy_is_not_the_checkout(installed, tmp_path):
    done = _run(
        installed / "bin" / "python",
        "-c",
        "import stockapp; print(stockapp.__file__)",
        cwd=tmp_path,
        env=_clean_env(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_relative_to(installed)


def test_installed_command_lists_and_loads_samples(installed, tmp_path):
    stockapp = installed / "bin" / "stockapp"
    listed = _run(stockapp, "samples", cwd=tmp_path, env=_clean_env(tmp_path))
    assert listed.returncode == 0, listed.stderr
    for name in ("AAPL", "GOOG", "^GSPC", "INTC", "MSFT", "SPY"):
        assert f"\n{name} " in listed.stdout
    loaded = _run(stockapp, "data", "--sample", "AAPL", cwd=tmp_path, env=_clean_env(tmp_path))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.startswith("AAPL: sample AAPL\n")
    assert "3379" in loaded.stdout


def test_pytest_runs_without_pytest_qt():
    """The GPU check runs the model tests on a bare machine: pytest-qt's settings in pyproject
    must not stop pytest (exit 3, "Unknown config option: qt_api") when the plugin is absent."""
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = _run(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "cuda",
        "--collect-only",
        "tests/models",
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Unknown config option" not in done.stdout + done.stderr
