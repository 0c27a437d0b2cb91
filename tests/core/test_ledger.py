"""The hash-chained ledger: canonical hashes, a chain that names the line it breaks at, and
appends that lose nothing when two processes write at once."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stockapp.core.ledger import (
    GENESIS,
    LedgerError,
    canonical,
    chain_problem,
    chained,
    entry_hash,
    read_entries,
    transaction,
)

ROOT = Path(__file__).resolve().parents[2]


def _payloads(n: int, start: int = 0) -> list[dict]:
    return [{"target_date": f"2018-01-{10 + i:02d}", "forecast": 100.0 + i / 3} for i in
            range(start, start + n)]  # fmt: skip


def test_canonical_json_is_sorted_compact_and_hashes_by_hand():
    entry = {"b": 1.5, "a": "é", "prev_hash": GENESIS}
    assert canonical(entry) == '{"a":"é","b":1.5,"prev_hash":"'.encode() + GENESIS.encode() + b'"}'
    assert entry_hash({**entry, "hash": "x"}) == hashlib.sha256(canonical(entry)).hexdigest()
    with pytest.raises(ValueError):
        canonical({"x": float("nan")})


def test_a_float_read_back_hashes_the_same():
    entry = chained([{"forecast": 0.1 + 0.2, "close": 179.100006}], GENESIS)[0]
    again = json.loads(canonical(entry))
    assert entry_hash(again) == entry["hash"] and chain_problem([again]) is None


def test_the_chain_names_an_edited_a_reordered_and_a_removed_line():
    entries = chained(_payloads(4), GENESIS)
    assert chain_problem(entries) is None
    edited = [dict(e) for e in entries]
    edited[2]["forecast"] = 999.0
    problem = chain_problem(edited)
    assert problem.line == 3 and "changed" in problem.reason
    assert "line 3 (target 2018-01-12)" in problem.sentence("L")
    swapped = [entries[0], entries[2], entries[1], entries[3]]
    problem = chain_problem(swapped)
    assert problem.line == 2 and "reordered" in problem.reason
    assert chain_problem([entries[0], entries[2], entries[3]]).line == 2
    assert chain_problem(entries[1:]).line == 1  # the first line removed
    # an edit rehashed in place still breaks the link of the line after it
    rehashed = [dict(e) for e in entries]
    rehashed[1]["forecast"] = 1.0
    rehashed[1]["hash"] = entry_hash(rehashed[1])
    assert chain_problem(rehashed).line == 3
    assert chain_problem(entries, required=("issued_at",)).reason == "lacks issued_at"


def test_transaction_appends_after_the_old_bytes_and_refuses_a_broken_file(tmp_path):
    path = tmp_path / "ledger.jsonl"
    with transaction(path) as tx:
        assert tx.entries == [] and tx.head == GENESIS
        tx.append(_payloads(2))
    first = path.read_bytes()
    with transaction(path, tmp_path / "r.jsonl") as tx:
        assert len(tx.entries) == 2
        added = tx.append(_payloads(1, start=2))
        tx.append_results([{"entry": added[0]["hash"]}])
    assert path.read_bytes().startswith(first)
    assert [e["target_date"] for e in read_entries(path)][-1] == "2018-01-12"
    assert json.loads((tmp_path / "r.jsonl").read_text())["entry"] == added[0]["hash"]

    lines = path.read_text().splitlines()
    bad = json.loads(lines[1])
    bad["forecast"] = 0.0
    path.write_text("\n".join([lines[0], json.dumps(bad), lines[2]]) + "\n")
    before = path.read_bytes()
    with pytest.raises(LedgerError, match="line 2 .*changed"), transaction(path) as tx:
        tx.append(_payloads(1))
    assert path.read_bytes() == before
    path.write_bytes(before[:-5])
    with pytest.raises(LedgerError, match="middle of a line"):
        read_entries(path)
    path.write_text('{"a": 1}\nnot json\n')
    with pytest.raises(LedgerError, match="line 2 is not JSON"):
        read_entries(path)


def test_nothing_is_written_when_the_block_fails(tmp_path):
    path = tmp_path / "ledger.jsonl"
    with pytest.raises(RuntimeError), transaction(path) as tx:
        tx.append(_payloads(1))
        raise RuntimeError("stop")
    assert not path.exists()


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from stockapp.core.ledger import transaction
    path, who, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    for i in range(n):
        with transaction(path) as tx:
            seen = len(tx.entries)
            time.sleep(0.004)  # widen the window between reading and writing
            tx.append([{"who": who, "i": i, "seen": seen}])
    """
)


def test_two_processes_appending_at_once_lose_nothing(tmp_path):
    path = tmp_path / "ledger.jsonl"
    n = 30
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), who, str(n)],
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        for who in ("a", "b")
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0
    entries = read_entries(path)  # the chain holds
    assert len(entries) == 2 * n
    for who in ("a", "b"):
        assert [e["i"] for e in entries if e["who"] == who] == list(range(n))
    # each writer saw every entry written before its own
    assert [e["seen"] for e in entries] == list(range(2 * n))
