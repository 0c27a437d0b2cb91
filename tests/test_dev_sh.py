"""``scripts/dev.sh`` installs on a fresh checkout and again only when the install would change,
and installs the X11 libraries Qt lacks before it opens the window, where it can and may.

The script runs in a copy of the checkout with a fake Python: it logs every call, creates the
venv on ``-m venv``, "installs" by creating ``.venv/bin/stockapp`` on ``-m pip install -e``, and
hands ``-c`` snippets and ``-m stockapp...`` (the library check) to the real interpreter. The log
shows whether pip ran. PATH holds only the few real tools the script needs plus fakes of ``id``,
``ldd``, ``apt-get`` and ``sudo`` (each test picks which), so the real ``apt-get`` and ``sudo``
can never run.
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
case "$1 $2" in
  "-m stockapp."*) exec "$REAL_PYTHON" "$@" ;;
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

# The fakes of system tools. apt-get fails with $FAKE_APT_ERROR when that is set, and says it
# cannot find the package until `apt-get update` has run when $FAKE_APT_NEEDS_UPDATE is set.
FAKE_TOOLS = {
    "id": '#!/bin/sh\necho "$FAKE_UID"\n',
    "ldd": '#!/bin/sh\ncat "$FAKE_LDD"\n',
    "sudo": '#!/bin/sh\necho "sudo $*" >> "$DEV_LOG"\nexec "$@"\n',
    "apt-get": """#!/bin/sh
echo "apt-get $*" >> "$DEV_LOG"
if [ "$1" = update ]; then
  : > "$FAKE_APT_STATE/updated"
  exit 0
fi
if [ -n "${FAKE_APT_ERROR:-}" ]; then
  printf '%s\\n' "$FAKE_APT_ERROR" >&2
  exit 100
fi
if [ -n "${FAKE_APT_NEEDS_UPDATE:-}" ] && [ ! -e "$FAKE_APT_STATE/updated" ]; then
  echo "E: Unable to locate package libxcb-icccm4" >&2
  exit 100
fi
echo "Setting up libxcb-icccm4"
""",
}
# The real tools dev.sh and the fakes use; nothing else of the machine's PATH is visible.
REAL_TOOLS = ("cat", "chmod", "cp", "dirname", "mkdir", "rm")

# What ldd printed for PySide6 6.11's libqxcb.so on a bare Debian 12 (trimmed).
LDD_BARE_DEBIAN = """\
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007fc026bee000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007fc026b00000)
"""
PACKAGES = "libxcb-icccm4 libxcb-keysyms1"
APT_INSTALL = f"apt-get install -y -q --no-install-recommends {PACKAGES}"
GUI = "stockapp gui --sample AAPL"


def _has_xcb_plugin() -> bool:
    from stockapp.gui import xcb_libs

    return xcb_libs.xcb_plugin() is not None


needs_plugin = pytest.mark.skipif(not _has_xcb_plugin(), reason="PySide6 has no xcb plugin here")


@pytest.fixture
def checkout(tmp_path) -> Path:
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "dev.sh", root / "scripts" / "dev.sh")
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON, encoding="utf-8")
    fake.chmod(0o755)
    (tmp_path / "ldd.txt").write_text(LDD_BARE_DEBIAN, encoding="utf-8")
    (tmp_path / "apt").mkdir()
    return root


def run_dev(
    checkout: Path, *args: str, tools: tuple[str, ...] = ("id", "ldd"), **env: str
) -> subprocess.CompletedProcess:
    """Run ``scripts/dev.sh args`` with the fake ``tools`` on PATH (a fresh folder each time)."""
    work = checkout.parent
    bin_dir = work / "bin"
    shutil.rmtree(bin_dir, ignore_errors=True)
    bin_dir.mkdir()
    for name in REAL_TOOLS:
        (bin_dir / name).symlink_to(shutil.which(name))
    for name in tools:
        (bin_dir / name).write_text(FAKE_TOOLS[name], encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    drop = ("STOCKAPP_", "PYTHON", "QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    environ.update(
        PATH=str(bin_dir),
        PYTHON=str(work / "python"),
        PYTHONPATH=str(ROOT),
        REAL_PYTHON=sys.executable,
        DEV_LOG=str(work / "log.txt"),
        FAKE_UID="1000",
        FAKE_LDD=str(work / "ldd.txt"),
        FAKE_APT_STATE=str(work / "apt"),
    )
    environ.update(env)
    (work / "log.txt").write_text("", encoding="utf-8")
    return subprocess.run(
        [shutil.which("bash"), "scripts/dev.sh", *args],
        cwd=checkout,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def dev(checkout: Path, *args: str, **env: str) -> list[str]:
    """Run ``scripts/dev.sh args`` offscreen; the calls it made, one per line."""
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    done = run_dev(checkout, *args, **env)
    assert done.returncode == 0, done.stderr
    return logged(checkout)


def logged(checkout: Path) -> list[str]:
    return (checkout.parent / "log.txt").read_text(encoding="utf-8").splitlines()


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


# The X11 libraries Qt's xcb plugin needs (the fake ldd reports two missing, as on a bare Debian).


def installed(checkout: Path) -> None:
    """The Python side installed already, so the logs below show only the system side."""
    dev(checkout, "run", "samples")


def not_python(calls: list[str]) -> list[str]:
    return [c for c in calls if not c.startswith("python")]


@needs_plugin
def test_as_root_the_missing_libraries_are_installed_then_the_app_opens(checkout):
    installed(checkout)
    done = run_dev(checkout, "run", tools=("id", "ldd", "apt-get", "sudo"), FAKE_UID="0")
    assert done.returncode == 0, done.stderr
    assert logged(checkout) == [APT_INSTALL, GUI]  # root needs no sudo
    assert done.stderr.splitlines() == [
        f"Installing {PACKAGES} with apt-get: Qt needs these X11 libraries to open a window"
        " (STOCKAPP_NO_SYSTEM_INSTALL=1 prints the command instead)."
    ]


@needs_plugin
def test_without_root_sudo_installs_them(checkout):
    installed(checkout)
    done = run_dev(checkout, "run", tools=("id", "ldd", "apt-get", "sudo"))
    assert done.returncode == 0, done.stderr
    assert logged(checkout) == [f"sudo {APT_INSTALL}", APT_INSTALL, GUI]
    assert done.stderr.startswith(f"Installing {PACKAGES} with sudo apt-get: ")


@needs_plugin
def test_first_run_installs_python_then_system_libraries_then_opens(checkout):
    done = run_dev(checkout, tools=("id", "ldd", "apt-get", "sudo"))
    assert done.returncode == 0, done.stderr
    assert not_python(logged(checkout)) == [f"sudo {APT_INSTALL}", APT_INSTALL, GUI]


@needs_plugin
def test_neither_root_nor_sudo_prints_the_install_line(checkout):
    installed(checkout)
    done = run_dev(checkout, "run", tools=("id", "ldd", "apt-get"))
    assert done.returncode == 1
    assert logged(checkout) == []
    assert done.stderr == (
        "Qt cannot open a window: its xcb plugin needs libxcb-icccm.so.4, libxcb-keysyms.so.1,"
        f" which are missing; install them as root with: apt-get install {PACKAGES}\n"
    )


@needs_plugin
@pytest.mark.parametrize("uid", ["0", "1000"])
def test_opt_out_prints_the_install_line(checkout, uid):
    installed(checkout)
    done = run_dev(
        checkout,
        "run",
        tools=("id", "ldd", "apt-get", "sudo"),
        FAKE_UID=uid,
        STOCKAPP_NO_SYSTEM_INSTALL="1",
    )
    assert done.returncode == 1
    assert logged(checkout) == []
    assert done.stderr.splitlines() == [
        "Qt cannot open a window: its xcb plugin needs libxcb-icccm.so.4, libxcb-keysyms.so.1,"
        f" which are missing; install them with: sudo apt-get install {PACKAGES}"
    ]


@needs_plugin
def test_without_apt_get_the_packages_are_named_for_other_systems_too(checkout):
    installed(checkout)
    done = run_dev(checkout, "run", tools=("id", "ldd", "sudo"), FAKE_UID="0")
    assert done.returncode == 1
    assert logged(checkout) == []
    assert done.stderr.splitlines()[-1].endswith(
        f"install the packages that provide them (Debian/Ubuntu: {PACKAGES};"
        " Fedora: xcb-util-wm xcb-util-keysyms; Arch: xcb-util-wm xcb-util-keysyms)"
    )


@needs_plugin
def test_a_failing_apt_get_is_one_sentence_and_the_python_side_stays(checkout):
    installed(checkout)
    venv = sorted(p.name for p in (checkout / ".venv").iterdir())
    lock = (
        "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt)\n"
        "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another"
        " process using it?"
    )
    done = run_dev(
        checkout, "run", tools=("id", "ldd", "apt-get"), FAKE_UID="0", FAKE_APT_ERROR=lock
    )
    assert done.returncode == 1
    assert logged(checkout) == [APT_INSTALL]  # tried once; the app did not start
    announce, sentence = done.stderr.splitlines()
    assert announce.startswith("Installing ")
    assert sentence == (
        f"apt-get could not install {PACKAGES} (it said: Could not get lock"
        " /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt)); the Python environment"
        " is ready and unchanged, so fix that and run scripts/dev.sh run again."
    )
    assert sorted(p.name for p in (checkout / ".venv").iterdir()) == venv
    # Once apt-get works, the next run goes straight to it: pip does not run again.
    done = run_dev(checkout, "run", tools=("id", "ldd", "apt-get"), FAKE_UID="0")
    assert done.returncode == 0, done.stderr
    assert logged(checkout) == [APT_INSTALL, GUI]


@needs_plugin
def test_missing_package_lists_are_fetched_once_then_the_install_is_retried(checkout):
    installed(checkout)
    done = run_dev(
        checkout, "run", tools=("id", "ldd", "apt-get"), FAKE_UID="0", FAKE_APT_NEEDS_UPDATE="1"
    )
    assert done.returncode == 0, done.stderr
    assert logged(checkout) == [APT_INSTALL, "apt-get update -q", APT_INSTALL, GUI]


@needs_plugin
def test_nothing_missing_opens_the_app_without_apt_get(checkout):
    installed(checkout)
    (checkout.parent / "ldd.txt").write_text(
        LDD_BARE_DEBIAN.replace("not found", "/lib/x86_64-linux-gnu/x.so"), encoding="utf-8"
    )
    done = run_dev(checkout, "run", tools=("id", "ldd", "apt-get", "sudo"))
    assert done.returncode == 0, done.stderr
    assert logged(checkout) == [GUI]
    assert done.stderr == ""


@pytest.mark.parametrize(
    "args", [("run",), ("run", "gui", "--sample", "MSFT"), ("test", "-x")], ids=" ".join
)
def test_offscreen_never_needs_the_libraries_nor_calls_apt_get(checkout, args):
    """CI runs offscreen (.ci/run sets QT_QPA_PLATFORM=offscreen): even with libraries missing
    and apt-get and sudo at hand, nothing is installed."""
    done = run_dev(
        checkout, *args, tools=("id", "ldd", "apt-get", "sudo"), QT_QPA_PLATFORM="offscreen"
    )
    assert done.returncode == 0, done.stderr
    assert not [c for c in logged(checkout) if c.startswith(("apt-get", "sudo"))]


def test_commands_without_a_window_do_not_check(checkout):
    installed(checkout)
    done = run_dev(checkout, "run", "samples", tools=("id", "ldd", "apt-get", "sudo"))
    assert done.returncode == 0, done.stderr
    assert logged(checkout) == ["stockapp samples"]
