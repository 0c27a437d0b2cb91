"""Imports flow gui -> models -> core <- data; torch and Qt stay in their own packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "stockapp"

# package -> stockapp packages it must not import
FORBIDDEN_INTERNAL = {
    "core": {"data", "models", "session", "gui", "cli"},
    "data": {"models", "session", "gui", "cli"},
    "models": {"gui", "data", "session", "cli"},
    "session": {"gui", "cli"},
    "gui": {"cli"},
}
QT = {"PySide6", "pyqtgraph", "shiboken6"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(package: str | None = None) -> list[Path]:
    root = PKG / package if package else PKG
    return sorted(root.rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN_INTERNAL))
def test_internal_import_direction(package):
    for path in _files(package):
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "stockapp" and len(parts) > 1:
                assert parts[1] not in FORBIDDEN_INTERNAL[package], f"{path} imports {name}"


def test_qt_only_in_gui():
    for path in _files():
        if "gui" in path.relative_to(PKG).parts or path.name == "__main__.py":
            continue
        top = {n.split(".")[0] for n in _imports(path)}
        assert not (top & QT), f"{path} imports Qt"


def test_torch_only_in_models():
    for path in _files():
        rel = path.relative_to(PKG).parts
        if rel[0] == "models":
            continue
        top = {n.split(".")[0] for n in _imports(path)}
        assert "torch" not in top and "safetensors" not in top, f"{path} imports torch"


def test_package_init_is_light():
    top = {n.split(".")[0] for n in _imports(PKG / "__init__.py")}
    assert not top & (QT | {"torch"})


def test_ray_only_in_the_sweep_engine():
    """Ray is an optional extra: one module imports it, and only when its engine is chosen."""
    allowed = PKG / "models" / "sweep_ray.py"
    for path in _files():
        top = {n.split(".")[0] for n in _imports(path)}
        if path != allowed:
            assert "ray" not in top, f"{path} imports ray"
    assert "ray" in {n.split(".")[0] for n in _imports(allowed)}
