"""Before Qt starts on X11: name the system libraries its xcb plugin lacks, and how to install them.

PySide6's wheels bundle Qt but not the X11 client libraries its ``xcb`` platform plugin links
against. On a bare Debian/Ubuntu desktop some are missing (``libxcb-icccm4``, ``libxcb-keysyms1``,
...) and Qt aborts with "Could not load the Qt platform plugin "xcb"", naming a different
library. ``ldd`` on the plugin lists exactly the unresolved ones, so this module asks it and
turns the answer into one ``apt-get install`` line. It imports no Qt (it must run before Qt
loads the plugin); ``python -m stockapp.gui.xcb_libs`` prints the line and exits 1.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

#: Debian package names that do not follow the ``libfoo.so.N -> libfooN`` convention.
PACKAGES = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
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


def problem(environ: Mapping[str, str] | None = None, platform: str = sys.platform) -> str | None:
    """One sentence naming the missing libraries and the install line, or None if Qt can start
    (or the check does not apply: not Linux, not xcb, no plugin, no ``ldd``)."""
    if not uses_xcb(os.environ if environ is None else environ, platform):
        return None
    plugin = xcb_plugin()
    if plugin is None:
        return None
    missing = missing_libraries(run_ldd(plugin))
    if not missing:
        return None
    packages = " ".join(dict.fromkeys(package_for(s) for s in missing))
    libraries = ", ".join(missing)
    if shutil.which("apt-get"):
        fix = f"install them with: sudo apt-get install {packages}"
    else:
        fix = f"install the packages that provide them (on Debian/Ubuntu: {packages})"
    return f"Qt cannot open a window: its xcb plugin needs {libraries}, which are missing; {fix}"


def main() -> int:
    """Print the problem on stderr and return 1, or return 0 when Qt's xcb plugin can load."""
    text = problem()
    if text is None:
        return 0
    print(text, file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
