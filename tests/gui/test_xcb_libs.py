"""Missing X11 libraries are named, with the one line that installs them, before Qt aborts.

``ldd`` and the package managers are faked (scripts on PATH) so the tests behave the same on
machines that have the libraries and on bare ones, and on any distribution.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stockapp.gui import xcb_libs

# What ldd printed for PySide6 6.11's libqxcb.so on a bare Debian 12 (trimmed).
LDD_BARE_DEBIAN = """\
\tlinux-vdso.so.1 (0x00007fc026d9f000)
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007fc026bee000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007fc026be7000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007fc026bdf000)
\tlibxcb-keysyms.so.1 => not found
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007fc026b00000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
"""
SENTENCE = (
    "Qt cannot open a window: its xcb plugin needs libxcb-icccm.so.4, libxcb-keysyms.so.1,"
    " which are missing; install them with: sudo apt-get install libxcb-icccm4 libxcb-keysyms1"
)


def test_missing_libraries_are_the_not_found_lines_once_each():
    assert xcb_libs.missing_libraries(LDD_BARE_DEBIAN) == [
        "libxcb-icccm.so.4",
        "libxcb-keysyms.so.1",
    ]
    assert xcb_libs.missing_libraries("") == []


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
        ("libxcb-image.so.0", "libxcb-image0"),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
        ("libdbus-1.so.3", "libdbus-1-3"),
        ("libEGL.so.1", "libegl1"),
        ("libglib-2.0.so.0", "libglib2.0-0"),
        ("libGLdispatch.so.0", "libglvnd0"),
        ("libX11.so.6", "libx11-6"),
    ],
)
def test_package_names_follow_debian(soname, package):
    assert xcb_libs.package_for(soname) == package


WM_KEYSYMS = ["xcb-util-wm", "xcb-util-keysyms"]
IMAGE_UTIL = ["xcb-util-image", "xcb-util"]


@pytest.mark.parametrize(
    ("sonames", "fedora", "arch"),
    [
        (["libxcb-icccm.so.4", "libxcb-keysyms.so.1"], WM_KEYSYMS, WM_KEYSYMS),
        (["libxcb-cursor.so.0"], ["xcb-util-cursor"], ["xcb-util-cursor"]),
        (["libxcb-render-util.so.0"], ["xcb-util-renderutil"], ["xcb-util-renderutil"]),
        (["libxcb-image.so.0", "libxcb-util.so.1"], IMAGE_UTIL, IMAGE_UTIL),
        (["libxcb-shape.so.0", "libxcb-xkb.so.1", "libxcb.so.1"], ["libxcb"], ["libxcb"]),
        (["libxkbcommon-x11.so.0"], ["libxkbcommon-x11"], ["libxkbcommon-x11"]),
        (["libX11-xcb.so.1", "libX11.so.6"], ["libX11-xcb", "libX11"], ["libx11"]),
        (["libEGL.so.1", "libGL.so.1"], ["libglvnd-egl", "libglvnd-glx"], ["libglvnd"]),
        (["libfreetype.so.6"], ["freetype"], ["freetype2"]),
        (["libglib-2.0.so.0", "libgthread-2.0.so.0"], ["glib2"], ["glib2"]),
        (["libdbus-1.so.3"], ["dbus-libs"], "unknown"),  # Arch's package for it: not certain
        (["libxcb-icccm.so.4", "libsomething-new.so.2"], "unknown", "unknown"),  # no guessing
    ],
)
def test_fedora_and_arch_packages_where_they_map(sonames, fedora, arch):
    expected = {"fedora": fedora, "arch": arch}
    for distro, packages in expected.items():
        assert xcb_libs.other_packages(sonames, distro) == (
            None if packages == "unknown" else packages
        )


@pytest.mark.parametrize(
    ("environ", "platform", "expected"),
    [
        ({}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({"QT_QPA_PLATFORM": "wayland"}, "linux", False),
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        ({"XDG_SESSION_TYPE": "x11"}, "linux", True),
        ({}, "darwin", False),
        ({}, "win32", False),
    ],
)
def test_only_xcb_on_linux_is_checked(environ, platform, expected):
    assert xcb_libs.uses_xcb(environ, platform) is expected


def _fake_tools(
    folder: Path, ldd_output: str, managers: tuple[str, ...] = ("apt-get", "sudo")
) -> str:
    """A PATH holding only a fake ``ldd`` (printing ``ldd_output``) and fakes of ``managers``
    (package managers and sudo, which do nothing)."""
    folder.mkdir()
    (folder / "report.txt").write_text(ldd_output, encoding="utf-8")
    report = folder / "report.txt"
    tools = {"ldd": f"#!{sys.executable}\nprint(open({str(report)!r}).read(), end='')\n"}
    tools.update({name: "#!/bin/sh\nexit 0\n" for name in managers})
    for name, text in tools.items():
        (folder / name).write_text(text, encoding="utf-8")
        (folder / name).chmod(0o755)
    return str(folder)


def _run(args: list[str], path: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    environ.update(PATH=path, QT_QPA_PLATFORM="xcb")
    environ.update(env)
    return subprocess.run(args, env=environ, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(xcb_libs.xcb_plugin() is None, reason="PySide6 has no xcb plugin here")
def test_check_prints_one_install_line_and_exits_1(tmp_path):
    done = _run(
        [sys.executable, "-m", "stockapp.gui.xcb_libs"],
        _fake_tools(tmp_path / "bin", LDD_BARE_DEBIAN),
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == SENTENCE + "\n"


@pytest.mark.skipif(xcb_libs.xcb_plugin() is None, reason="PySide6 has no xcb plugin here")
@pytest.mark.parametrize(
    ("managers", "hint"),
    [
        (("apt-get",), "install them as root with: apt-get install libxcb-icccm4 libxcb-keysyms1"),
        (("dnf", "sudo"), "install them with: sudo dnf install xcb-util-wm xcb-util-keysyms"),
        (("pacman", "sudo"), "install them with: sudo pacman -S xcb-util-wm xcb-util-keysyms"),
        (
            ("sudo",),
            "install the packages that provide them (Debian/Ubuntu: libxcb-icccm4"
            " libxcb-keysyms1; Fedora: xcb-util-wm xcb-util-keysyms;"
            " Arch: xcb-util-wm xcb-util-keysyms)",
        ),
    ],
    ids=["apt-get without sudo", "dnf", "pacman", "no package manager"],
)
def test_the_line_fits_the_package_manager_found(tmp_path, managers, hint):
    done = _run(
        [sys.executable, "-m", "stockapp.gui.xcb_libs"],
        _fake_tools(tmp_path / "bin", LDD_BARE_DEBIAN, managers),
    )
    assert done.returncode == 1
    assert done.stderr == SENTENCE.split("; ")[0] + "; " + hint + "\n"


@pytest.mark.skipif(xcb_libs.xcb_plugin() is None, reason="PySide6 has no xcb plugin here")
def test_apt_packages_lists_what_to_install_for_dev_sh(tmp_path):
    """``scripts/dev.sh run`` installs what this prints: the Debian packages, on one line."""
    args = [sys.executable, "-m", "stockapp.gui.xcb_libs", "--apt-packages"]
    done = _run(args, _fake_tools(tmp_path / "bare", LDD_BARE_DEBIAN))
    assert (done.returncode, done.stdout, done.stderr) == (0, "libxcb-icccm4 libxcb-keysyms1\n", "")
    done = _run(args, _fake_tools(tmp_path / "complete", ""))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    done = _run(
        args, _fake_tools(tmp_path / "offscreen", LDD_BARE_DEBIAN), QT_QPA_PLATFORM="offscreen"
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_nothing_missing_or_no_ldd_passes(tmp_path):
    assert (
        _run(
            [sys.executable, "-m", "stockapp.gui.xcb_libs"], _fake_tools(tmp_path / "a", "")
        ).returncode
        == 0
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run([sys.executable, "-m", "stockapp.gui.xcb_libs"], str(empty)).returncode == 0


@pytest.mark.skipif(xcb_libs.xcb_plugin() is None, reason="PySide6 has no xcb plugin here")
def test_gui_command_stops_before_qt_with_the_install_line(tmp_path):
    """``stockapp gui`` (what ``scripts/dev.sh run`` starts) exits 1 with the sentence, and Qt
    never gets to abort ("Could not load the Qt platform plugin")."""
    stockapp = Path(sys.executable).parent / "stockapp"
    done = _run(
        [str(stockapp), "gui", "--sample", "AAPL"], _fake_tools(tmp_path / "bin", LDD_BARE_DEBIAN)
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [SENTENCE]


def test_the_check_imports_no_qt():
    """It must run before Qt loads its platform plugin, so it may not import PySide6 itself."""
    code = (
        "import sys, stockapp.gui.xcb_libs as x; x.xcb_plugin();"
        " print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
