"""Atomic file and folder writes: a crash leaves the old file (or folder) or the new one, whole.

Every file stockapp writes (run folders, sweep tables, the Yahoo cache, saved models,
explanations, pictures) goes through :func:`atomic_open` or :func:`write_bytes`: the content is
written to a temporary file in the same folder, flushed and ``fsync``-ed, moved over the target
with :func:`os.replace` (atomic on POSIX and Windows), and the folder is ``fsync``-ed so the rename
itself survives a power cut. The temporary file is created with mode ``0o666`` minus the umask,
like a file opened with ``open(path, "w")`` (``tempfile.mkstemp`` would leave it ``0600``), so
every file of a run reads the same to other users.

:func:`replace_folder` does the same for a whole folder: it is written beside the target under a
hidden name and swapped in, so no file of an earlier folder survives the write.

Lives in ``core`` so every layer may import it (``data`` and ``models`` import ``core``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

#: Prefix of the temporary files and folders (hidden, so listings skip them).
TEMP_PREFIX = "."


def _temp_name(path: Path, what: str) -> Path:
    return path.with_name(f"{TEMP_PREFIX}{path.name}.{what}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def fsync_dir(folder: str | Path) -> None:
    """Flush a folder's entries (a rename into it) to disk; a no-op where folders cannot be opened
    (Windows)."""
    try:
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename still happened
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(
    path: str | Path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on a clean exit it replaces ``path``.

    ``mode`` is ``"w"`` (text, with ``encoding`` and ``newline`` as :func:`open` takes them) or
    ``"wb"``. If the block raises, the temporary file is removed and ``path`` is left as it was.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes a whole file ('w' or 'wb'), not mode {mode!r}")
    path = Path(path)
    tmp = _temp_name(path, "tmp")
    # O_EXCL: never follow or reuse another file; 0o666 is narrowed by the umask as open() does.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        if mode == "wb":
            fh = os.fdopen(fd, "wb")
        else:
            fh = os.fdopen(fd, "w", encoding=encoding, newline=newline)
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (newlines as given); returns the path."""
    with atomic_open(path, "w", encoding=encoding, newline="") as fh:
        fh.write(text)
    return Path(path)


def rename(src: str | Path, dst: str | Path) -> Path:
    """Move a finished file or folder ``src`` to ``dst`` in one step (:func:`os.replace`: an
    existing file, or empty folder, at ``dst`` is replaced) and sync the folder it lands in."""
    os.replace(src, dst)
    fsync_dir(Path(dst).parent)
    return Path(dst)


def replace_folder(folder: str | Path, write: Callable[[Path], None]) -> Path:
    """Write a whole folder with ``write(staging)`` beside ``folder``, then swap it in.

    The staging folder is a hidden sibling, so the swap is two renames on one file system: the
    old folder (if any) moves aside, the new one takes its name, and the old one is deleted. If
    ``write`` raises, the staging folder is deleted and ``folder`` is untouched.
    """
    folder = Path(folder)
    staging = _temp_name(folder, "partial")
    staging.mkdir(parents=True)
    try:
        write(staging)
        old = None
        if folder.exists():
            old = _temp_name(folder, "old")
            os.replace(folder, old)
        try:
            os.replace(staging, folder)
        except BaseException:
            if old is not None:
                os.replace(old, folder)  # put the earlier folder back
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_dir(folder.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return folder
