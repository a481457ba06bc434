"""Crash consistency: kill -9 a writer mid-stream, restart, and audit the books (T1, small).

A child process (crash_writer.py) streams batches with known ids, a few in flight,
and prints each batch number once its future resolves. The test SIGKILLs it after
some acks, at three points per store (SQLite with its commit process and with commits
on the writer's thread, and PostgreSQL), and after each kill a new writer on the same
store must show that:

- every acknowledged batch is there, each transfer exactly once;
- what is there is a prefix of whole batches (a batch commits whole or not at all),
  so no linked chain is split and no unacknowledged batch is half there;
- the chain designed to fail left nothing but its pinned failure;
- balances equal the sums the plan predicts for that prefix, and reconcile is clean;
- a client retrying every batch gets EXISTS (or the same pinned failure), moving nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from mkoba.ledger import Balance, LedgerWriter, TransferResult, open_store
from mkoba.ledger.reconcile import reconcile
from tests.ledger import crash_writer as plan
from tests.ledger.helpers import wait_for_backend_gone

ROOT = Path(__file__).resolve().parents[2]
R = TransferResult


def run_until_acked(url: str, acks_wanted: int, mode: str = "process") -> tuple[set[int], int]:
    """Start the writer process, SIGKILL it once batch ``acks_wanted`` is acked.

    Returns the acknowledged batch numbers and the writer's PostgreSQL backend pid.
    """
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.ledger.crash_writer", url, mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acked: set[int] = set()
    backend = 0
    try:
        assert child.stdout is not None
        for line in child.stdout:
            word, number = line.split()
            if word == "backend":
                backend = int(number)
                continue
            acked.add(int(number))
            if int(number) >= acks_wanted:
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        _, errors = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, errors
    return acked, backend


def committed_ids(number: int) -> set[int]:
    """The transfer ids batch ``number`` leaves in the store once committed."""
    if number == 0:
        return set(plan.WALLETS)
    ids = {*plan.chain_ids(number), plan.pending_id(number)}
    return ids | {plan.post_id(number)} if number >= 2 else ids


def audit(url: str, acked: set[int]) -> int:
    """Check the store after a kill; the number of the last committed batch."""
    with open_store(url) as store:
        present = {row[0] for row in store.query("SELECT id FROM ledger_transfers")}
        duplicated = store.query(
            "SELECT id, COUNT(*) FROM ledger_transfers GROUP BY id HAVING COUNT(*) > 1"
        )
        failed = {row[0] for row in store.query("SELECT id FROM ledger_failures")}
    assert duplicated == []
    # A prefix of whole batches: each batch all there or all absent, and no gaps.
    whole = [n for n in range(plan.batches_max) if committed_ids(n) <= present]
    last = len(whole) - 1
    assert whole == list(range(last + 1))
    expected_ids = set().union(*(committed_ids(n) for n in range(last + 1)))
    assert present == expected_ids, sorted(present ^ expected_ids)[:10]
    assert max(acked) <= last, (max(acked), last)
    # The doomed chains left only their failing member's pin, one per committed batch.
    assert failed == {plan.doomed_ids(n)[1] for n in range(1, last + 1)}

    with LedgerWriter(open_store(url)) as writer:
        ids = writer.read(lambda engine: set(engine.transfer_ids)).result()
        assert ids == present
        account_ids = [account.id for account in plan.ACCOUNTS]
        balances = dict(zip(account_ids, writer.balances(account_ids).result(), strict=True))
        expected = {id: Balance(*counters) for id, counters in plan.balances_after(last).items()}
        assert balances == expected
    with open_store(url) as store:
        report = reconcile(store)
    assert report.ok, [check.problems for check in report.checks if not check.ok]
    return last


def test_acknowledged_batches_survive_kill_9_whole_and_once(store_url: str) -> None:
    kill_and_audit(store_url, "process")


def test_with_sqlite_commits_on_the_writers_thread_too(tmp_path: Path) -> None:
    kill_and_audit(str(tmp_path / "ledger.db"), "thread")


def kill_and_audit(store_url: str, mode: str) -> None:
    """Kill the writer at three points, audit after each kill, then retry everything."""
    acked, backend = run_until_acked(store_url, acks_wanted=2, mode=mode)
    last = 0
    for more in (10, 25, None):
        if backend:
            wait_for_backend_gone(backend)
        last = audit(store_url, acked)
        if more is None:
            break
        # The rerun starts from batch 0 again: a client retrying everything it sent.
        acked, backend = run_until_acked(store_url, acks_wanted=last + more, mode=mode)

    # A client that heard nothing retries: what committed stays as it was.
    with LedgerWriter(open_store(store_url)) as writer:
        before = writer.read(lambda engine: dict(engine.transfer_ids)).result()
        for number in range(last + 1):
            again = writer.submit(plan.batch(number)).result()
            same = [R.EXISTS if result == R.OK else result for result in plan.first_results(number)]
            assert again == same, number
        assert writer.read(lambda engine: dict(engine.transfer_ids)).result() == before
        account_ids = [account.id for account in plan.ACCOUNTS]
        balances = writer.balances(account_ids).result()
        nexts = [writer.submit(plan.batch(number)) for number in (last + 1, last + 2)]
        assert [future.result() for future in nexts] == [
            plan.first_results(last + 1),
            plan.first_results(last + 2),
        ]
    expected = plan.balances_after(last)
    assert [tuple(balance) for balance in balances if balance] == [
        expected[id] for id in account_ids
    ]
