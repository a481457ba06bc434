"""SQLite commits in a child process (the default for a file) and on the writer's thread.

Both paths must keep the writer's promises: an acknowledged batch is durable, a
failing batch takes its money down with it, a dead commit process is replaced
without losing an acknowledgement, and the lease stays held while a commit
process of a crashed writer could still commit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mkoba.ledger import LedgerWriter, StoreError, Transfer, TransferResult, WriterError, open_store
from mkoba.ledger.reconcile import reconcile
from mkoba.ledger.store import sqlite
from mkoba.ledger.store.sqlite import SqliteStore
from tests.ledger.helpers import credit_balances
from tests.ledger.test_store import ACCOUNTS, ALICE, BOB, RECEIPTS, TRUST, receipt

R = TransferResult


@pytest.mark.parametrize("commit_process", [True, False], ids=["process", "thread"])
def test_both_paths_commit_whole_batches_or_nothing(tmp_path: Path, commit_process: bool) -> None:
    url = str(tmp_path / "ledger.db")
    with LedgerWriter(open_store(url, commit_process=commit_process)) as writer:
        store = writer.store
        assert isinstance(store, SqliteStore)
        assert (store._child is not None) == commit_process
        writer.store.migrate_script("test_receipts", RECEIPTS)
        writer.create_accounts(ACCOUNTS).result()
        first = writer.submit([Transfer(10, TRUST, ALICE, 100, 1)], attach=[receipt(1, 10)])
        assert first.result() == [R.OK]
        # Acknowledged: another connection sees the money and its receipt.
        with open_store(url) as reader:
            assert reader.query("SELECT id FROM ledger_transfers") == [(10,)]
            assert reader.query("SELECT id, transfer_id FROM receipts") == [(1, 10)]
        doomed = writer.submit([Transfer(11, ALICE, BOB, 60, 1)], attach=[receipt(1, 11)])
        with pytest.raises(WriterError) as failed:
            doomed.result()
        assert "UNIQUE constraint failed: receipts.id" in str(failed.value.__cause__)

    with open_store(url) as reader:
        assert reader.query("SELECT id FROM ledger_transfers") == [(10,)]
        assert reconcile(reader).ok
    with LedgerWriter(open_store(url, commit_process=commit_process)) as writer:
        assert credit_balances(writer.balances([ALICE, BOB]).result()) == [100, 0]


def test_a_killed_commit_process_is_replaced_and_loses_no_acknowledged_batch(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "ledger.db")
    writer = LedgerWriter(open_store(url)).start()
    writer.create_accounts(ACCOUNTS).result()
    assert writer.submit([Transfer(10, TRUST, ALICE, 100, 1)]).result() == [R.OK]
    store = writer.store
    assert isinstance(store, SqliteStore) and store._child is not None
    child = store._child._process
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert writer.health()["commit_process"] == "stopped"

    # The batch could not even be handed over: a new commit process takes it.
    assert writer.submit([Transfer(11, ALICE, BOB, 60, 1)]).result(timeout=10) == [R.OK]
    assert writer.submit([Transfer(12, ALICE, BOB, 1, 1)]).result(timeout=10) == [R.OK]
    assert store._child is not None and store._child._process.pid != child.pid
    health = writer.health()
    assert (health["state"], health["commit_process"], health["recoveries"]) == ("ok", "alive", 1)
    writer.stop()

    with LedgerWriter(open_store(url)) as writer:
        assert credit_balances(writer.balances([ALICE, BOB]).result()) == [39, 61]
    with open_store(url) as reader:
        assert reconcile(reader).ok


def test_the_lease_is_held_until_the_commit_process_of_a_dead_writer_exits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crashed writer's commit process may still be committing: nobody loads until it exits."""
    monkeypatch.setattr(sqlite, "lease_wait_s", 0.1)
    url = str(tmp_path / "ledger.db")
    crashed = SqliteStore(url)
    crashed.acquire_lease()
    assert crashed._lease is not None and crashed._child is not None
    # The writer's process dies: its own descriptor of the lock goes, the child's stays.
    crashed._lease.close()
    crashed._lease = None
    with pytest.raises(StoreError, match="another ledger writer"):
        SqliteStore(url, commit_process=False).acquire_lease()
    crashed._child.close()  # its socket closes, as a dead parent's would: the child exits
    crashed._child = None
    with SqliteStore(url, commit_process=False) as successor:
        successor.acquire_lease()
    crashed.close()


def test_a_batch_is_handed_over_while_the_child_is_busy(tmp_path: Path) -> None:
    """Sending never waits for the child's commit: the writer's event loop must not block."""
    store = SqliteStore(str(tmp_path / "ledger.db"))
    try:
        store.acquire_lease()
        store.migrate()
        store.migrate_script("test_receipts", RECEIPTS)
        child = store._child
        assert child is not None
        child.ready()
        rows = [(id, id, 0) for id in range(1, 20_001)]  # about 300 KB pickled
        insert = "INSERT INTO receipts (id, transfer_id, result) VALUES (?, ?, ?)"
        os.kill(child.pid, signal.SIGSTOP)  # busy, as if committing a batch
        try:
            sent = threading.Thread(target=child.send, args=([(insert, rows, True)],))
            sent.start()
            sent.join(timeout=5)
            assert not sent.is_alive(), "the send waited for the child"
        finally:
            os.kill(child.pid, signal.SIGCONT)
        child.answer()
        assert store.query("SELECT COUNT(*) FROM receipts") == [(20_000,)]
    finally:
        store.close()


_ORPHANING_WRITER = """
import os, signal, sys
from mkoba.ledger.store.sqlite import SqliteStore
from tests.ledger.test_store import RECEIPTS
store = SqliteStore(sys.argv[1])
store.acquire_lease()
store.migrate()
store.migrate_script("test_receipts", RECEIPTS)
child = store._child
child.ready()
os.kill(child.pid, signal.SIGSTOP)  # the child has not read the batch when its writer dies
child.send([("INSERT INTO receipts (id, transfer_id, result) VALUES (1, 1, 0)", (), False)])
print(child.pid, flush=True)
os._exit(0)
"""


def test_a_batch_left_in_the_pipe_by_a_dead_writer_is_not_committed(tmp_path: Path) -> None:
    """Nobody would hear of it, and a successor may already be loading the store."""
    path = str(tmp_path / "ledger.db")
    writer = subprocess.Popen(
        [sys.executable, "-c", _ORPHANING_WRITER, path], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    # The line, not the end of the output: the stopped child holds the pipe open too.
    child = int(writer.stdout.readline())
    writer.stdout.close()
    assert writer.wait(timeout=30) == 0
    os.kill(child, signal.SIGCONT)
    deadline = time.monotonic() + 20
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # reparented: not ours to wait for; it exits by itself
    assert not Path(f"/proc/{child}").exists() or _zombie(child)
    with SqliteStore(path, commit_process=False) as store:
        assert store.query("SELECT COUNT(*) FROM receipts") == [(0,)]


def _zombie(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    return True
