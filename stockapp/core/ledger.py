"""An append-only, hash-chained file of JSON lines that several processes may write at once.

Each line is one JSON object. Its ``hash`` is the SHA-256 of the object's canonical JSON without
the ``hash`` key (:func:`canonical`: keys sorted, no spaces, UTF-8, no NaN) and its
``prev_hash`` is the hash of the line before (:data:`GENESIS` for the first), so changing,
removing or reordering a line breaks the chain at that line or the next (:func:`chain_problem`).
A chain cannot show that its *last* line was rewritten and rehashed; publishing the last hash
(a commit, a message to someone) closes that gap.

Writers hold an exclusive lock on a lock file beside the ledger (``fcntl.flock`` on POSIX,
``msvcrt.locking`` on Windows) around read, check and append (:func:`transaction`). The new
content is the old bytes unchanged plus the new lines, written to a temporary file, fsynced and
swapped in with ``os.replace``: a reader sees the old ledger or the new one, never half a line,
and two processes appending at once lose nothing. The lock file is never replaced, so its lock
stays meaningful. A second file of JSON lines (the results of a forward record) can be appended
under the same lock.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from stockapp.core import atomic
from stockapp.errors import StockappError

#: ``prev_hash`` of a ledger's first line.
GENESIS = "0" * 64


class LedgerError(StockappError):
    """A ledger or results file could not be read, locked or written, or its chain is broken."""


def canonical(obj: object) -> bytes:
    """The canonical JSON of ``obj``: sorted keys, no spaces, UTF-8; NaN is refused.

    Floats are written as Python's shortest round-trip repr, so reading a line back and writing it
    again gives the same bytes, and the same hash.
    """
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)  # fmt: skip
    return text.encode("utf-8")


def digest(obj: object) -> str:
    """SHA-256 (hex) of :func:`canonical` ``obj``."""
    return hashlib.sha256(canonical(obj)).hexdigest()


def entry_hash(entry: dict) -> str:
    """The hash an entry must carry: of everything in it but its ``hash``."""
    return digest({k: v for k, v in entry.items() if k != "hash"})


def chained(payloads: list[dict], prev: str) -> list[dict]:
    """``payloads`` with ``prev_hash`` and ``hash`` added, each following the one before."""
    out = []
    for payload in payloads:
        entry = {k: v for k, v in payload.items() if k not in ("hash", "prev_hash")}
        entry["prev_hash"] = prev
        entry["hash"] = prev = entry_hash(entry)
        out.append(entry)
    return out


@dataclass(frozen=True)
class ChainProblem:
    """The first line of a ledger that breaks its chain: 1-based ``line`` and why."""

    line: int
    reason: str
    entry: dict | None = None

    def sentence(self, path: Path | str) -> str:
        target = ""
        if self.entry is not None and self.entry.get("target_date"):
            target = f" (target {self.entry['target_date']})"
        return f"{path} line {self.line}{target} {self.reason}."


def parse_lines(data: bytes, path: Path | str) -> list[dict]:
    """The JSON objects of a ledger's bytes; a :class:`LedgerError` naming the first bad line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise LedgerError(f"{path} is not UTF-8 text; it was not written by stockapp.") from None
    if text and not text.endswith("\n"):
        raise LedgerError(
            f"{path} ends in the middle of a line, so it was cut short or edited by hand."
        )
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise LedgerError(f"{path} line {number} is not JSON; it was edited by hand.") from None
        if not isinstance(obj, dict):
            raise LedgerError(f"{path} line {number} is not a JSON object; it was edited by hand.")
        out.append(obj)
    return out


def chain_problem(entries: list[dict], required: tuple[str, ...] = ()) -> ChainProblem | None:
    """The first entry whose hash, link to the entry before or ``required`` keys are wrong."""
    prev = GENESIS
    for number, entry in enumerate(entries, start=1):
        missing = [k for k in ("prev_hash", "hash", *required) if k not in entry]
        if missing:
            return ChainProblem(number, f"lacks {', '.join(missing)}", entry)
        if entry["prev_hash"] != prev:
            what = "the start of the ledger" if prev == GENESIS else f"line {number - 1}"
            return ChainProblem(
                number, f"does not follow {what} (its prev_hash differs): lines were removed, "
                "inserted or reordered", entry,
            )  # fmt: skip
        try:
            expected = entry_hash(entry)
        except (TypeError, ValueError):
            return ChainProblem(number, "holds a value JSON cannot hash", entry)
        if entry["hash"] != expected:
            return ChainProblem(
                number, "was changed after it was written (its hash differs)", entry
            )
        prev = entry["hash"]
    return None


def read_entries(path: Path, required: tuple[str, ...] = ()) -> list[dict]:
    """A ledger's entries (none when the file does not exist), its chain checked."""
    path = Path(path)
    data = _read_bytes(path)
    entries = parse_lines(data, path)
    problem = chain_problem(entries, required)
    if problem is not None:
        raise LedgerError(problem.sentence(path) + " The ledger was left as it is")
    return entries


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise LedgerError(f"Could not read {path}: {exc.strerror or exc}.") from None


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` through the one atomic writer (temporary file beside it,
    fsynced, ``os.replace``, folder synced)."""
    atomic.write_bytes(path, data)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (created if needed), waiting for other holders."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        fh = open(lock_path, "a+b")
    except OSError as exc:
        raise LedgerError(
            f"Could not open the lock file {lock_path}: {exc.strerror or exc}."
        ) from None
    try:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            fh.seek(0)
            while True:
                try:
                    msvcrt.locking(fh.fileno(), msvcrt.LK_LOCK, 1)  # retries for ~10 s itself
                    break
                except OSError:
                    time.sleep(0.1)
            try:
                yield
            finally:
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        fh.close()


@dataclass
class Transaction:
    """What :func:`transaction` hands its caller: the entries so far, and what to append."""

    entries: list[dict]
    results: list[dict]
    new_entries: list[dict] = field(default_factory=list)
    new_results: list[dict] = field(default_factory=list)

    @property
    def head(self) -> str:
        """The hash the next entry follows."""
        last = (self.new_entries or self.entries or [{"hash": GENESIS}])[-1]
        return last["hash"]

    def append(self, payloads: list[dict]) -> list[dict]:
        """Chain ``payloads`` after the last entry; they are written when the block ends."""
        added = chained(payloads, self.head)
        self.new_entries.extend(added)
        return added

    def append_results(self, rows: list[dict]) -> None:
        """Rows for the results file, written after the new entries when the block ends."""
        self.new_results.extend(rows)


@contextmanager
def transaction(
    path: Path, results_path: Path | None = None, required: tuple[str, ...] = ()
) -> Iterator[Transaction]:
    """Lock, read and check the ledger (and its results file), let the caller append, write.

    Raises :class:`LedgerError` (nothing written) when a file cannot be read or the chain is
    broken. Nothing is written when the block raises or appends nothing.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LedgerError(f"Could not create {path.parent}: {exc.strerror or exc}.") from None
    with locked(path):
        old = _read_bytes(path)
        entries = parse_lines(old, path)
        problem = chain_problem(entries, required)
        if problem is not None:
            raise LedgerError(problem.sentence(path) + " The ledger was left as it is")
        old_results = _read_bytes(results_path) if results_path is not None else b""
        results = parse_lines(old_results, results_path) if results_path is not None else []
        tx = Transaction(entries, results)
        yield tx
        try:
            if tx.new_entries:
                write_atomic(path, old + b"".join(canonical(e) + b"\n" for e in tx.new_entries))
            if tx.new_results and results_path is not None:
                rows = b"".join(canonical(r) + b"\n" for r in tx.new_results)
                write_atomic(results_path, old_results + rows)
        except OSError as exc:
            raise LedgerError(f"Could not write {path}: {exc.strerror or exc}.") from None
