"""Before Qt starts on X11: name the system libraries its xcb plugin lacks, and how to install them.

PySide6's wheels bundle Qt but not the X11 client libraries its ``xcb`` platform plugin links
against. On a bare Debian/Ubuntu desktop some are missing (``libxcb-icccm4``, ``libxcb-keysyms1``,
...) and Qt aborts with "Could not load the Qt platform plugin "xcb"", naming a different
library. ``ldd`` on the plugin lists exactly the unresolved ones, so this module asks it and
turns the answer into one install line for the package manager it finds (apt-get, dnf or
pacman). It imports no Qt (it must run before Qt loads the plugin).

``python -m stockapp.gui.xcb_libs`` prints that line and exits 1 (0 when nothing is missing);
``--apt-packages`` prints only the Debian packages to install, which is what ``scripts/dev.sh
run`` installs itself when it may.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Debian package names that do not follow the ``libfoo.so.N -> libfooN`` convention.
PACKAGES = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libGLdispatch.so.0": "libglvnd0",
}

# The libxcb package of Fedora and Arch ships the core library and its protocol extensions.
_XCB_CORE = "libxcb libxcb-glx libxcb-present libxcb-randr libxcb-render libxcb-shape libxcb-shm"
_XCB_CORE += " libxcb-sync libxcb-xfixes libxcb-xinerama libxcb-xinput libxcb-xkb"

#: Fedora (dnf) and Arch (pacman) packages per library (its soname up to ``.so``): xcb-util-wm
#: ships libxcb-icccm, and so on. Where unsure (Arch's ``libdbus-1``), None: a library without a
#: package leaves that distribution out of the message rather than have it guess.
OTHER_DISTROS: dict[str, tuple[str, str | None]] = {
    **{name: ("libxcb", "libxcb") for name in _XCB_CORE.split()},
    "libxcb-util": ("xcb-util", "xcb-util"),
    "libxcb-cursor": ("xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-icccm": ("xcb-util-wm", "xcb-util-wm"),
    "libxcb-ewmh": ("xcb-util-wm", "xcb-util-wm"),
    "libxcb-keysyms": ("xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-image": ("xcb-util-image", "xcb-util-image"),
    "libxcb-render-util": ("xcb-util-renderutil", "xcb-util-renderutil"),
    "libxkbcommon-x11": ("libxkbcommon-x11", "libxkbcommon-x11"),
    "libxkbcommon": ("libxkbcommon", "libxkbcommon"),
    "libX11-xcb": ("libX11-xcb", "libx11"),
    "libX11": ("libX11", "libx11"),
    "libEGL": ("libglvnd-egl", "libglvnd"),
    "libGL": ("libglvnd-glx", "libglvnd"),
    "libGLX": ("libglvnd-glx", "libglvnd"),
    "libGLdispatch": ("libglvnd", "libglvnd"),
    "libOpenGL": ("libglvnd-opengl", "libglvnd"),
    "libfontconfig": ("fontconfig", "fontconfig"),
    "libfreetype": ("freetype", "freetype2"),
    "libglib-2.0": ("glib2", "glib2"),
    "libgthread-2.0": ("glib2", "glib2"),
    "libdbus-1": ("dbus-libs", None),
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found\s*$", re.MULTILINE)


def uses_xcb(environ: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt will pick its X11 (xcb) plugin: Linux, and ``QT_QPA_PLATFORM`` unset or xcb,
    outside a Wayland session (where Qt 6 picks its wayland plugin first)."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"
    wayland = environ.get("XDG_SESSION_TYPE") == "wayland" and environ.get("WAYLAND_DISPLAY")
    return not wayland


def xcb_plugin() -> Path | None:
    """PySide6's ``libqxcb.so``, found without importing PySide6 (None if there is none)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0], "Qt", "plugins", "platforms")
    plugin = path / "libqxcb.so"
    return plugin if plugin.is_file() else None


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames ``ldd`` reported as ``not found``, once each, in order."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def package_for(soname: str) -> str:
    """The Debian/Ubuntu package that ships ``soname``: ``libxcb-icccm.so.4`` -> ``libxcb-icccm4``,
    ``libxkbcommon-x11.so.0`` -> ``libxkbcommon-x11-0`` (a hyphen when the name ends in a digit)."""
    if soname in PACKAGES:
        return PACKAGES[soname]
    name, _, version = soname.partition(".so.")
    name = name.lower()
    version = version.split(".")[0]
    if not version:
        return name
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def other_packages(sonames: Sequence[str], distro: str) -> list[str] | None:
    """The ``"fedora"`` or ``"arch"`` packages that ship ``sonames``, once each; None when one of
    them is not known there."""
    column = {"fedora": 0, "arch": 1}[distro]
    packages = []
    for soname in sonames:
        package = OTHER_DISTROS.get(soname.partition(".so")[0], (None, None))[column]
        if package is None:
            return None
        packages.append(package)
    return list(dict.fromkeys(packages))


def run_ldd(plugin: Path) -> str:
    """``ldd``'s report on ``plugin``; empty when ``ldd`` is not available or fails."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return ""
    try:
        done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


def missing(environ: Mapping[str, str] | None = None, platform: str = sys.platform) -> list[str]:
    """The libraries Qt's xcb plugin lacks here; empty when Qt can start, or when the check does
    not apply (not Linux, not xcb, no plugin, no ``ldd``)."""
    if not uses_xcb(os.environ if environ is None else environ, platform):
        return []
    plugin = xcb_plugin()
    return [] if plugin is None else missing_libraries(run_ldd(plugin))


def install_hint(sonames: Sequence[str]) -> str:
    """How to install the packages that ship ``sonames``: the command for the package manager
    found on PATH, else the package names for Debian/Ubuntu, Fedora and Arch (where known)."""
    debian = " ".join(dict.fromkeys(package_for(s) for s in sonames))
    fedora, arch = other_packages(sonames, "fedora"), other_packages(sonames, "arch")
    sudo = "sudo " if shutil.which("sudo") else ""
    how = "install them with: " if sudo else "install them as root with: "
    if shutil.which("apt-get"):
        return f"{how}{sudo}apt-get install {debian}"
    if fedora and shutil.which("dnf"):
        return f"{how}{sudo}dnf install {' '.join(fedora)}"
    if arch and shutil.which("pacman"):
        return f"{how}{sudo}pacman -S {' '.join(arch)}"
    names = [f"Debian/Ubuntu: {debian}"]
    names += [f"Fedora: {' '.join(fedora)}"] if fedora else []
    names += [f"Arch: {' '.join(arch)}"] if arch else []
    return f"install the packages that provide them ({'; '.join(names)})"


def problem(environ: Mapping[str, str] | None = None, platform: str = sys.platform) -> str | None:
    """One sentence naming the missing libraries and the install line, or None if Qt can start
    (or the check does not apply: not Linux, not xcb, no plugin, no ``ldd``)."""
    sonames = missing(environ, platform)
    if not sonames:
        return None
    return (
        f"Qt cannot open a window: its xcb plugin needs {', '.join(sonames)}, which are missing;"
        f" {install_hint(sonames)}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print the problem on stderr and return 1, or return 0 when Qt's xcb plugin can load.

    With ``--apt-packages``: print the Debian packages that would install what is missing, on
    one line (nothing when nothing is), and return 0.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--apt-packages"]:
        packages = dict.fromkeys(package_for(s) for s in missing())
        if packages:
            print(" ".join(packages))
        return 0
    if args:
        print("usage: python -m stockapp.gui.xcb_libs [--apt-packages]", file=sys.stderr)
        return 2
    text = problem()
    if text is None:
        return 0
    print(text, file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
