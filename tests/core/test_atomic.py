"""One atomic write for every writer (issue 20.3): whole files or nothing, synced, in the usual
mode (issue 18.11: some files were 0600, others 0644)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from stockapp.core import atomic
from stockapp.core.atomic import atomic_open, replace_folder, write_bytes, write_text

PKG = Path(__file__).resolve().parents[2] / "stockapp"


@pytest.fixture
def umask():
    """Run with a chosen umask and put the old one back."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_files_get_0666_less_the_umask_as_open_gives(tmp_path, umask, mask, expected):
    umask(mask)
    plain = tmp_path / "plain.txt"
    with open(plain, "w") as fh:
        fh.write("x")
    assert _mode(write_text(tmp_path / "a.txt", "x")) == expected == _mode(plain)
    assert _mode(write_bytes(tmp_path / "b.bin", b"x")) == expected
    target = tmp_path / "c.txt"
    target.write_text("old")
    target.chmod(0o600)  # a file written 0600 by an older version gets the usual mode back
    write_text(target, "new")
    assert _mode(target) == expected and target.read_text() == "new"


def test_a_failure_mid_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "results.csv"
    target.write_text("old contents\n")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_open(target) as fh:
            fh.write("half of the new ")
            raise RuntimeError("disk full")
    assert target.read_text() == "old contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]


def test_a_process_killed_mid_write_leaves_the_old_file(tmp_path):
    """A hard crash (no clean-up runs at all) between writing and the rename."""
    target = tmp_path / "summary.json"
    target.write_text('{"old": true}')
    code = textwrap.dedent(
        f"""
        import os
        from stockapp.core.atomic import atomic_open
        with atomic_open({str(target)!r}) as fh:
            fh.write('{{"new": ')
            fh.flush()
            os._exit(9)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(PKG.parent)}
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=60)
    assert done.returncode == 9
    assert target.read_text() == '{"old": true}'
    # the half-written temporary is hidden beside it, never under the target's name
    left = [p.name for p in tmp_path.iterdir() if p.name != "summary.json"]
    assert len(left) == 1 and left[0].startswith(".summary.json.tmp-")


def test_the_file_and_its_folder_are_synced_before_and_after_the_rename(tmp_path, monkeypatch):
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        kind = "folder" if os.path.isdir(f"/proc/self/fd/{fd}") else "file"
        events.append(f"fsync {kind}")
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to tell a folder's descriptor from a file's")
    write_text(tmp_path / "x.json", "{}")
    assert events == ["fsync file", "replace", "fsync folder"]


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "old.png").write_bytes(b"old picture")

    def write(staging: Path) -> None:
        assert staging.parent == tmp_path and staging.name.startswith(".run.partial-")
        write_text(staging / "new.csv", "a\n")

    replace_folder(folder, write)
    assert [p.name for p in folder.iterdir()] == ["new.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]

    def broken(staging: Path) -> None:
        write_text(staging / "half.csv", "a\n")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        replace_folder(folder, broken)
    assert [p.name for p in folder.iterdir()] == ["new.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_every_writer_of_the_package_writes_atomically_in_the_usual_mode(
    tmp_path, umask, monkeypatch
):
    """The run, sweep, cache and model writers, each checked for its mode."""
    from stockapp.core.runs import write_csv, write_json
    from stockapp.core.sweep_plan import write_results_csv
    from stockapp.data.cache import CachedPrices, write_cache

    umask(0o022)
    write_json(tmp_path / "m.json", {"a": float("nan")})
    write_csv(tmp_path / "f.csv", pd.DataFrame({"a": [1.0]}), index=False)
    write_results_csv(tmp_path / "results.csv", [{"series": "AAPL"}])
    monkeypatch.setenv("STOCKAPP_HOME", str(tmp_path / "home"))
    frame = pd.DataFrame(
        {"Open": [1.0], "High": [1.0], "Low": [1.0], "Close": [1.0], "Volume": [1.0]},
        index=pd.DatetimeIndex(["2020-01-02"], name="Date"),
    )
    cached = write_cache("ABC", "1d", CachedPrices(frame, ((date(2020, 1, 1), date(2020, 1, 3)),)))
    for path in [*tmp_path.glob("*.*"), cached]:
        assert _mode(path) == 0o644, path
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no temporaries left


def _direct_writes(source: str, label: str) -> list[str]:
    """Calls in ``source`` that write a file other than through :mod:`stockapp.core.atomic`."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        where = f"{label}:{node.lineno} {name}"
        if isinstance(func, ast.Attribute) and name in (
            "write_text", "write_bytes", "mkstemp", "savez", "savez_compressed", "save_file",
            "replace", "to_csv", "to_json", "to_parquet",
        ):  # fmt: skip
            owner = func.value.id if isinstance(func.value, ast.Name) else ""
            if name == "replace" and owner != "os":
                continue  # str.replace, dataclasses.replace
            if owner == "atomic":
                continue  # the helper itself, called as atomic.write_bytes(...)
            into_handle = node.args and isinstance(node.args[0], ast.Name)
            if (name.startswith("to_") or name.startswith("savez")) and into_handle:
                continue  # into an open handle (one from atomic_open)
            found.append(where)
        elif name == "open" and isinstance(func, ast.Name):
            modes = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
            modes += [k.value.value for k in node.keywords if k.arg == "mode"]
            if any(isinstance(m, str) and ("w" in m or "x" in m) for m in modes):
                found.append(where)
        elif name == "save" and isinstance(func, ast.Attribute) and node.args:
            first = node.args[0]  # a Qt image saved straight to a path (not to a buffer)
            if isinstance(first, ast.Call) and getattr(first.func, "id", "") == "str":
                found.append(where)
    return found


def test_no_module_writes_files_around_the_atomic_helper():
    offenders = [
        hit
        for path in sorted(PKG.rglob("*.py"))
        if path.name != "atomic.py"
        for hit in _direct_writes(path.read_text(encoding="utf-8"), str(path.relative_to(PKG)))
    ]
    assert offenders == []


def test_the_scan_sees_each_kind_of_direct_write():
    source = textwrap.dedent(
        """
        np.savez(folder / "s.npz", a=a)
        frame.to_csv(folder / "f.csv")
        frame.to_csv(fh)
        Path(p).write_text("x")
        os.replace(a, b)
        "text".replace("a", "b")
        open(p, "w")
        open(p, encoding="utf-8")
        image.save(str(path), "PNG")
        """
    )
    hits = [h.split()[-1] for h in _direct_writes(source, "probe")]
    assert hits == ["savez", "to_csv", "write_text", "replace", "open", "save"]
