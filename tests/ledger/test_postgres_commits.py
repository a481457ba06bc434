"""PostgreSQL: commits in a process of their own, in few round trips; reads on kept connections.

The commit process must keep the writer's promises as SQLite's does: an
acknowledged batch is durable and visible to another connection, a failing batch
takes its money down with it, a dead commit process is replaced without losing an
acknowledgement, and the loop writer commits through its pipe. A batch's rows
land as written, table by table, whether many new rows go by COPY or the others
row by row. Readers are kept
between reads, never serve an old state, refuse writes, and a reader the server
dropped costs no failed read.
"""

from __future__ import annotations

import asyncio
import os
import signal

import psycopg
import pytest

from mkoba.ledger import (
    LedgerWriter,
    Transfer,
    TransferResult,
    Write,
    WriteMode,
    WriterError,
    open_store,
)
from mkoba.ledger.loop_writer import LoopWriter
from mkoba.ledger.reconcile import reconcile
from mkoba.ledger.store.base import LeaseLost
from mkoba.ledger.store.postgres import PostgresStore, split_url
from mkoba.ledger.store.postgres_batch import rows_per_statement_max
from tests.ledger.helpers import credit_balances, wait_until
from tests.ledger.test_store import ACCOUNTS, ALICE, BOB, RECEIPTS, TRUST, receipt

pytestmark = pytest.mark.postgres
R = TransferResult


def receipts(url: str) -> list[tuple[object, ...]]:
    with open_store(url) as reader:
        return reader.query("SELECT id, transfer_id FROM receipts ORDER BY id")


@pytest.mark.parametrize("commit_process", [True, False], ids=["process", "thread"])
def test_both_paths_commit_whole_batches_or_nothing(
    postgres_url: str, commit_process: bool
) -> None:
    with LedgerWriter(open_store(postgres_url, commit_process=commit_process)) as writer:
        store = writer.store
        assert isinstance(store, PostgresStore)
        assert (store._child is not None) == commit_process
        if commit_process:
            assert store._child is not None and store._child.pid != os.getpid()
            assert store.health()["commit_process"] == "alive"
        store.migrate_script("test_receipts", RECEIPTS)
        writer.create_accounts(ACCOUNTS).result()
        # Transfers (a COPY) and attached rows of two shapes (pipelined) in one batch.
        first = writer.submit(
            [Transfer(10, TRUST, ALICE, 100, 1), Transfer(11, ALICE, BOB, 30, 1)],
            attach=[receipt(1, 10), receipt(2, 11)],
        )
        assert first.result() == [R.OK, R.OK]
        # Acknowledged: another connection sees the money and its receipts.
        assert receipts(postgres_url) == [(1, 10), (2, 11)]
        # A duplicate receipt (in the pipeline, before the COPY): all of it rolls back.
        doomed = writer.submit([Transfer(12, ALICE, BOB, 60, 1)], attach=[receipt(1, 12)])
        with pytest.raises(WriterError) as failed:
            doomed.result()
        assert "UniqueViolation" in str(failed.value.__cause__)
        # The writer goes on after it.
        assert writer.submit([Transfer(13, ALICE, BOB, 1, 1)]).result() == [R.OK]

    with open_store(postgres_url) as reader:
        assert reader.query("SELECT id FROM ledger_transfers ORDER BY id") == [(10,), (11,), (13,)]
        assert reconcile(reader).ok
    # Stopped with a checkpoint of the balances (staged by COPY in the same transaction).
    with LedgerWriter(open_store(postgres_url)) as writer:
        assert credit_balances(writer.balances([ALICE, BOB]).result()) == [69, 31]
    assert receipts(postgres_url) == [(1, 10), (2, 11)]


def test_a_killed_commit_process_is_replaced_and_loses_no_acknowledged_batch(
    postgres_url: str,
) -> None:
    writer = LedgerWriter(open_store(postgres_url)).start()
    try:
        writer.create_accounts(ACCOUNTS).result()
        assert writer.submit([Transfer(10, TRUST, ALICE, 100, 1)]).result() == [R.OK]
        store = writer.store
        assert isinstance(store, PostgresStore) and store._child is not None
        killed = store._child.pid
        os.kill(killed, signal.SIGKILL)
        os.waitpid(killed, 0)
        assert writer.health()["commit_process"] == "stopped"

        # The batch could not even be handed over: a new commit process takes it.
        assert writer.submit([Transfer(11, ALICE, BOB, 60, 1)]).result(timeout=20) == [R.OK]
        assert writer.submit([Transfer(12, ALICE, BOB, 1, 1)]).result(timeout=20) == [R.OK]
        assert store._child is not None and store._child.pid != killed
        health = writer.health()
        assert (health["state"], health["commit_process"], health["recoveries"]) == (
            "ok",
            "alive",
            1,
        )
    finally:
        writer.stop()
    with LedgerWriter(open_store(postgres_url)) as again:
        assert credit_balances(again.balances([ALICE, BOB]).result()) == [39, 61]
    with open_store(postgres_url) as reader:
        assert reconcile(reader).ok


def test_the_loop_writer_commits_through_the_commit_process(postgres_url: str) -> None:
    async def scenario() -> None:
        writer = LoopWriter(open_store(postgres_url), asyncio.get_running_loop())
        await asyncio.to_thread(writer.start)
        try:
            assert writer._pipe is not None, "decided on the loop, committed by the child"
            await asyncio.wrap_future(writer.create_accounts(ACCOUNTS))
            fund = writer.submit_async([Transfer(1, TRUST, ALICE, 1_000, 1)])
            pays = [writer.submit_async([Transfer(10 + n, ALICE, BOB, 10, 1)]) for n in range(40)]
            assert await fund == [R.OK]
            for pay in pays:
                assert await pay == [R.OK]
            # Every acknowledgement was durable: another connection sees all of them.
            with open_store(postgres_url) as reader:
                count = reader.query("SELECT COUNT(*) FROM ledger_transfers")
            assert count == [(41,)]
        finally:
            await asyncio.to_thread(writer.stop)

    asyncio.run(scenario())
    with open_store(postgres_url) as reader:
        assert reconcile(reader).ok


def test_reads_reuse_their_connections_and_refuse_writes(postgres_url: str) -> None:
    with open_store(postgres_url) as store:
        pids = {store.query("SELECT pg_backend_pid()")[0][0] for _ in range(20)}
        assert len(pids) == 1, "one reader, kept between reads"
        with store.snapshot() as snapshot:
            assert snapshot.query("SELECT pg_backend_pid()")[0][0] in pids
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            store.query("CREATE TABLE written_through_a_read (id INT)")
        # The refused write left the reader usable.
        assert store.query("SELECT 1") == [(1,)]


def test_a_reader_the_server_dropped_costs_no_failed_read(postgres_url: str) -> None:
    with open_store(postgres_url) as store:
        dropped = store.query("SELECT pg_backend_pid()")[0][0]
        with store.snapshot() as snapshot:
            assert snapshot.query("SELECT pg_backend_pid()") == [(dropped,)]
        dsn, _ = split_url(postgres_url)
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (dropped,))
        # The kept reader is gone: the read goes again on a new one.
        again = store.query("SELECT pg_backend_pid()")[0][0]
        assert again != dropped
        dsn, _ = split_url(postgres_url)
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (again,))
        with store.snapshot() as snapshot:
            assert snapshot.query("SELECT pg_backend_pid()")[0][0] not in (dropped, again)


NOTES = """
CREATE TABLE IF NOT EXISTS notes (
    id BIGINT PRIMARY KEY, body TEXT NOT NULL, raw BYTEA, state TEXT, n BIGINT
);
CREATE TABLE IF NOT EXISTS tallies (k TEXT PRIMARY KEY, n BIGINT NOT NULL);
"""
NOTE = ("id", "body", "raw", "state", "n")


def note(id: int, body: str = "a note", raw: bytes | None = b"\x00\x01\xff") -> Write:
    return Write("notes", NOTE, (id, body, raw, "new", id * 10))


def test_a_batch_lands_each_tables_rows_in_order_whatever_the_statement(
    postgres_url: str,
) -> None:
    """Rows interleaved by table, runs of a shape of many rows and of one."""
    attach: list[Write] = []
    for id in range(1, 11):
        # New rows of two tables interleaved, an upsert of one key many times over.
        attach.append(note(id, body=f"tab\tnew line\n back\\slash {id} ü"))
        attach.append(Write("tallies", ("k", "n"), ("total", id), ("k",), WriteMode.UPSERT))
    # Updates of rows inserted above (the same batch): they land after them, the last
    # of a row's updates last.
    attach += [
        Write("notes", ("id", "state"), (id, state), ("id",), WriteMode.UPDATE)
        for id, state in ((2, "sent"), (3, "sent"), (3, "read"))
    ]
    attach.append(note(11, raw=None))  # a lone new row after them
    with LedgerWriter(open_store(postgres_url)) as writer:
        writer.store.migrate_script("test_notes", NOTES)
        writer.create_accounts(ACCOUNTS).result()
        done = writer.submit([Transfer(1, TRUST, ALICE, 5, 1)], attach=attach)
        assert done.result() == [R.OK]
    with open_store(postgres_url) as reader:
        notes = reader.query("SELECT id, body, raw, state, n FROM notes ORDER BY id")
        tallies = reader.query("SELECT k, n FROM tallies")
    assert [row[0] for row in notes] == list(range(1, 12))
    assert notes[0] == (1, "tab\tnew line\n back\\slash 1 ü", b"\x00\x01\xff", "new", 10)
    assert [row[3] for row in notes] == ["new", "sent", "read", *["new"] * 8]
    assert notes[-1][2] is None
    assert tallies == [("total", 10)]  # the last of ten upserts


def test_long_runs_of_new_updated_and_upserted_rows_all_land(postgres_url: str) -> None:
    """Runs longer than one statement takes (they go as several), of every mode."""
    count = 3 * rows_per_statement_max + 5
    attach = [note(id, body=f"note {id}") for id in range(1, count + 1)]
    attach += [
        Write("notes", ("id", "state", "n"), (id, "sent", -id), ("id",), WriteMode.UPDATE)
        for id in range(1, count + 1, 2)
    ]
    attach += [
        Write("tallies", ("k", "n"), (f"k{id % 70}", id), ("k",), WriteMode.UPSERT)
        for id in range(count)
    ]
    with LedgerWriter(open_store(postgres_url)) as writer:
        writer.store.migrate_script("test_notes", NOTES)
        writer.create_accounts(ACCOUNTS).result()
        done = writer.submit([Transfer(1, TRUST, ALICE, 5, 1)], attach=attach)
        assert done.result() == [R.OK]
    with open_store(postgres_url) as reader:
        notes = reader.query("SELECT id, body, state, n FROM notes ORDER BY id")
        tallies = dict(reader.query("SELECT k, n FROM tallies"))
    assert len(notes) == count
    for id, body, state, n in notes:
        expected = ("sent", -id) if id % 2 == 1 else ("new", id * 10)
        assert (body, state, n) == (f"note {id}", *expected)
    # Each key's last upsert: the largest of its ids below count.
    assert tallies == {f"k{k}": max(i for i in range(count) if i % 70 == k) for k in range(70)}


def test_a_duplicate_among_many_new_rows_takes_the_whole_batch_down(postgres_url: str) -> None:
    with LedgerWriter(open_store(postgres_url)) as writer:
        writer.store.migrate_script("test_notes", NOTES)
        writer.create_accounts(ACCOUNTS).result()
        rows = [note(id) for id in (*range(1, 10), 5)]  # id 5 twice: the COPY fails
        doomed = writer.submit([Transfer(1, TRUST, ALICE, 5, 1)], attach=rows)
        with pytest.raises(WriterError) as failed:
            doomed.result()
        assert "UniqueViolation" in str(failed.value.__cause__)
        assert "(5)" not in str(failed.value.__cause__)  # names, never values
        assert writer.submit([Transfer(2, TRUST, ALICE, 7, 1)]).result() == [R.OK]
    with open_store(postgres_url) as reader:
        assert reader.query("SELECT COUNT(*) FROM notes") == [(0,)]
        assert reader.query("SELECT id FROM ledger_transfers") == [(2,)]


def test_the_commit_process_is_fenced_inside_its_transaction(postgres_url: str) -> None:
    """A takeover under way holds the lease's row: the child's batch waits, then is refused."""
    store = PostgresStore(postgres_url, lease_s=1.5)
    writer = LedgerWriter(store).start()
    try:
        writer.create_accounts(ACCOUNTS).result(10)
        assert writer.submit([Transfer(1, TRUST, ALICE, 50, 1)]).result(10) == [R.OK]
        assert store._child is not None
        store.lease.stop_renewing()
        dsn, schema = split_url(postgres_url)
        holder = f"mkoba ledger writer {store.lease.holder.rsplit(':', 1)[-1]}"
        with psycopg.connect(dsn, autocommit=True) as racer:
            racer.execute(f"SET search_path TO {schema}")
            racer.execute("BEGIN")
            racer.execute("UPDATE ledger_lease SET token = token + 1, holder = 'racer'")
            pending = writer.submit([Transfer(2, ALICE, BOB, 5, 1)])
            # The commit process's session (named as the holder's) waits for the row.
            waiting = (
                "SELECT pid FROM pg_stat_activity"
                " WHERE application_name = %s AND wait_event_type = 'Lock'"
            )
            wait_until(lambda: bool(racer.execute(waiting, (holder,)).fetchall()), timeout_s=10)
            (pid,) = racer.execute(waiting, (holder,)).fetchone() or (0,)
            assert pid != store._connection.info.backend_pid  # the child's, not the writer's
            racer.execute("COMMIT")
        with pytest.raises(WriterError, match="lost its lease") as refused:
            pending.result(10)
        assert isinstance(refused.value.__cause__, LeaseLost)
        assert refused.value.__cause__.token == 2
    finally:
        writer.stop()
    with open_store(postgres_url) as reader:
        assert reader.query("SELECT id FROM ledger_transfers ORDER BY id") == [(1,)]
