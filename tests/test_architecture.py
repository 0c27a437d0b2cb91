"""Imports flow ``gui/cli -> session -> models -> core <- data``; torch and Qt stay in their own
packages. Every module is checked, relative imports and imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "stockapp"

# package -> stockapp packages it must not import
FORBIDDEN_INTERNAL = {
    "core": {"data", "models", "gui", "cli", "session"},
    "data": {"models", "gui", "cli", "session"},
    "models": {"gui", "data", "cli", "session"},
    "session": {"gui", "cli"},
    "gui": {"cli"},
    "cli": {"gui"},  # but its two doors to Qt (below)
}
#: The command line's doors to Qt, each to one gui module: the pictures (drawn off screen) and
#: ``stockapp gui``, which opens the window. No other cli module may import gui or Qt.
DOORS = {"cli/png.py": {"stockapp.gui.pictures"}, "cli/gui.py": {"stockapp.gui.app"}}
QT = {"PySide6", "pyqtgraph", "shiboken6"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it, relative imports made absolute; for
    ``from package import name`` both ``package`` and ``package.name`` are listed."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = module_name(path).split(".")
    here = me if path.name == "__init__.py" else me[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return names


def files(package: str | None = None) -> list[Path]:
    root = PKG / package if package else PKG
    return sorted(root.rglob("*.py"))


def internal(path: Path) -> set[str]:
    """The stockapp modules (and packages) ``path`` imports."""
    known = {module_name(p) for p in files()}
    return {n for n in imports(path) if n in known}


def test_every_package_is_checked():
    packages = {p.name for p in PKG.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(FORBIDDEN_INTERNAL), "add the new package to FORBIDDEN_INTERNAL"


@pytest.mark.parametrize("package", sorted(FORBIDDEN_INTERNAL))
def test_internal_import_direction(package):
    for path in files(package):
        rel = str(path.relative_to(PKG))
        for name in internal(path):
            parts = name.split(".")
            if len(parts) < 2 or parts[1] not in FORBIDDEN_INTERNAL[package]:
                continue
            if name in DOORS.get(rel, set()) | ({"stockapp.gui"} if rel in DOORS else set()):
                continue
            pytest.fail(f"{rel} imports {name}")


def test_relative_imports_are_seen():
    """A relative import counts like an absolute one (they escaped the check before)."""
    probe = PKG / "core" / "_probe_for_test.py"
    probe.write_text("from ..gui import app\nfrom . import metrics\n", encoding="utf-8")
    try:
        assert {"stockapp.gui", "stockapp.gui.app", "stockapp.core.metrics"} <= imports(probe)
    finally:
        probe.unlink()


def test_no_two_modules_import_each_other():
    graph = {module_name(p): internal(p) - {module_name(p)} for p in files()}
    pairs = sorted(
        (a, b) for a, deps in graph.items() for b in deps if a < b and a in graph.get(b, ())
    )
    assert pairs == []


def test_qt_only_in_gui():
    for path in files():
        rel = path.relative_to(PKG)
        if rel.parts[0] == "gui":
            continue
        top = {n.split(".")[0] for n in imports(path)}
        assert not (top & QT), f"{rel} imports Qt"


def test_torch_only_in_models():
    for path in files():
        rel = path.relative_to(PKG).parts
        if rel[0] == "models":
            continue
        top = {n.split(".")[0] for n in imports(path)}
        assert "torch" not in top and "safetensors" not in top, f"{path} imports torch"


def test_package_init_is_light():
    top = {n.split(".")[0] for n in imports(PKG / "__init__.py")}
    assert not top & (QT | {"torch"})


def test_ray_only_in_the_sweep_engine():
    """Ray is an optional extra: one module imports it, and only when its engine is chosen."""
    allowed = PKG / "models" / "sweep_ray.py"
    for path in files():
        top = {n.split(".")[0] for n in imports(path)}
        if path != allowed:
            assert "ray" not in top, f"{path} imports ray"
    assert "ray" in {n.split(".")[0] for n in imports(allowed)}


#: Most lines a module under stockapp/ may have (issue 20.7: "no module over about 400 lines";
#: the house style's small, single-purpose modules).
MAX_LINES = 400


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_module_is_over_the_line_limit():
    over = {
        str(p.relative_to(PKG).as_posix()): n for p in files() if (n := line_count(p)) > MAX_LINES
    }
    assert not over, f"split these modules (over {MAX_LINES} lines): {over}"


@pytest.mark.parametrize(
    ("library", "allowed"),
    [
        ("optuna", {"core/sweep_search.py", "core/sweep_tpe.py"}),
        ("mlflow", {"session/sweep_tracking.py"}),
    ],
)
def test_optional_extras_stay_in_their_modules(library, allowed):
    """Optuna (``[tune]``) and MLflow (``[mlflow]``) are imported where they are used, only."""
    for path in files():
        rel = str(path.relative_to(PKG))
        if library in {n.split(".")[0] for n in imports(path)}:
            assert rel in allowed, f"{rel} imports {library}"
