"""The embedded store: one SQLite file in WAL mode, fsynced at every commit."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import itertools
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Self

from mkoba.ledger.records import FailureRecord
from mkoba.ledger.store import sql
from mkoba.ledger.store.base import FAULT_DATA, Commit, CommitPipe, StoredAccount, StoreError
from mkoba.ledger.store.commit_child import ChildPipe, CommitChild, CommitFailed
from mkoba.ledger.store.schema import ACCOUNT_COLUMNS, FAILURE_COLUMNS, SQLITE, TRANSFER_COLUMNS
from mkoba.ledger.store.sqlite_child import Statement, describe, fault_of, start, transaction
from mkoba.ledger.transfer import TransferRecord

_INSERT_TRANSFER = sql.insert_sql("ledger_transfers", TRANSFER_COLUMNS, "?")
_INSERT_FAILURE = sql.insert_sql("ledger_failures", FAILURE_COLUMNS, "?")
_INSERT_ACCOUNT = sql.insert_sql("ledger_accounts", ACCOUNT_COLUMNS, "?")
_UPDATE_FLAGS = sql.with_marks(sql.UPDATE_FLAGS, "?")
_UPDATE_BALANCE = sql.with_marks(sql.UPDATE_BALANCE, "?")
_SET_META = sql.with_marks(sql.SET_META, "?")
_SELECT_RECORDS = sql.with_marks(sql.SELECT_RECORDS, "?")
_MAX_CREATED = "SELECT COALESCE(MAX(created), 0) FROM ledger_accounts"
# How long a connection waits for another one's write lock before it gives up.
busy_timeout_ms = 10_000
# Transfer records go in through multi-row INSERTs of power-of-two sizes, each statement
# cached, at most this many rows (and never more than the variable limit allows).
# Python's sqlite3 releases the GIL around every step, and executemany steps once a
# row: each row released and re-took the GIL, queueing behind the writer thread
# deciding the next batch. A multi-row statement binds in one call and steps once:
# about 0.9 us a row instead of 1.6, and far less waiting for the GIL.
record_rows_max = 4096
# How long a new writer waits for another one's lease before it refuses to start.
lease_wait_s = 2.0
# Reader connections kept open between snapshots.
readers_kept_max = 8


# The writer connections' settings (this process's, and the commit process's).
# FULL: every commit is fsynced before the writer acknowledges it.
_SETUP = (
    f"PRAGMA busy_timeout = {busy_timeout_ms}",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA cache_size = -65536",
)


def _connect(path: str, *, read_only: bool = False) -> sqlite3.Connection:
    connection = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
    )
    for pragma in _SETUP:
        if not (read_only and "journal_mode" in pragma):
            connection.execute(pragma)
    return connection


class SqliteStore:
    """The ledger's tables in one SQLite file; the writer's connection and short-lived readers.

    ``commit_process`` (the default for a file): the writer's batches are committed
    by a child process with a connection of its own (``sqlite_child.py``); this
    connection still runs migrations, loads, and admin statements, whose locks
    SQLite serialises with the child's.
    """

    def __init__(self, path: str | Path, *, commit_process: bool = True) -> None:
        self.path = str(path)
        self._commit_process = commit_process and self.path != ":memory:"
        self._child: CommitChild | None = None
        self.url = f"sqlite:///{self.path}"
        self.embedded = True
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._connection = _connect(self.path)
        self._lock = threading.Lock()
        # Reader connections between snapshots: opening one costs more than most queries.
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._created = 0
        self._lease: IO[str] | None = None
        variables_max = self._connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self._record_rows_max = _power_of_two_at_most(
            min(record_rows_max, variables_max // len(TRANSFER_COLUMNS))
        )

    def acquire_lease(self) -> None:
        """Hold an exclusive lock on ``<file>.lock`` for as long as this store is open.

        Waits up to ``lease_wait_s`` for the holder to let go: a crashed writer's
        commit process finishes its last batch before it exits and releases it.
        With ``commit_process``, the commit process starts here (it shares the lock).
        """
        if self._lease is not None:
            return
        handle = open(f"{self.path}.lock", "a+")  # noqa: SIM115 (held until close)
        deadline = time.monotonic() + lease_wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise StoreError(f"another ledger writer is running on {self.path}") from None
                time.sleep(0.02)
        self._lease = handle
        if self._commit_process:
            self._child = start(self.path, _SETUP, lease_fd=handle.fileno())

    def migrate(self) -> None:
        """Create the ledger's tables if they are missing."""
        self._connection.executescript(SQLITE)
        self._created = int(self._connection.execute(_MAX_CREATED).fetchone()[0])

    def migrate_script(self, name: str, script: str) -> None:
        """Run a named schema script once, recorded in ledger_migrations."""
        with self._lock:
            seen = self._connection.execute(
                "SELECT 1 FROM ledger_migrations WHERE name = ?", (name,)
            ).fetchone()
            if seen:
                return
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(script):
                    self._connection.execute(statement)
                self._connection.execute("INSERT INTO ledger_migrations (name) VALUES (?)", (name,))
                self._connection.execute("COMMIT")
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise

    def commit(self, batch: Commit) -> None:
        """Write one batch in one transaction; the COMMIT is fsynced before this returns."""
        statements = self._statements_of(batch)
        if self._child is not None:
            with _store_errors():
                self._child.commit(statements)
            return
        with self._lock:
            try:
                transaction(self._connection, statements)
            except Exception as error:  # whatever a row holds, the batch fails, not the writer
                message = f"sqlite commit failed: {describe(error)}"
                raise StoreError(message, fault_of(error)) from None

    def commit_pipe(self) -> CommitPipe | None:
        """Commits without waiting, for a writer on an event loop: the commit process's pipe.

        None without a commit process. Waits until the process has opened the store.
        """
        if self._child is None:
            return None
        with _store_errors():
            self._child.ready()
        return ChildPipe(self._child, self._statements_of, _store_errors)

    def recover(self) -> None:
        """After a failed commit: end a transaction left open; reset or replace the child.

        A child that answers the reset commits again. One that is gone (killed, or its
        store never opened) is replaced by a new one sharing the lease, which this
        store still holds.
        """
        with self._lock:
            try:
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                row = self._connection.execute(_MAX_CREATED).fetchone()
                self._created = int(row[0])
            except sqlite3.Error as error:
                raise StoreError(f"sqlite recovery failed: {describe(error)}") from None
        if self._child is None:
            return
        try:
            with _store_errors():
                self._child.reset()
            return
        except StoreError:
            pass
        assert self._lease is not None, "a commit process exists only under the lease"
        self._child.close()
        self._child = start(self.path, _SETUP, lease_fd=self._lease.fileno())
        with _store_errors():
            self._child.ready()

    def health(self) -> dict[str, object]:
        """Whether the commit process runs (when commits go through one)."""
        if not self._commit_process or self._lease is None:
            return {}
        alive = self._child is not None and self._child.alive()
        return {"commit_process": "alive" if alive else "stopped"}

    def _statements_of(self, batch: Commit) -> list[Statement]:
        """``_statements``, with a row SQL cannot be built from as the batch's own fault."""
        try:
            return self._statements(batch)
        except Exception as error:
            raise StoreError(f"sqlite batch refused: {describe(error)}", FAULT_DATA) from None

    def _statements(self, batch: Commit) -> list[Statement]:
        changes = batch.changes
        statements: list[Statement] = []
        if changes.accounts:
            rows = []
            for account in changes.accounts:
                self._created += 1
                rows.append(sql.account_row(account, self._created))
            statements.append((_INSERT_ACCOUNT, rows, True))
        if changes.account_flags:
            flags = [(flags, id) for id, flags in changes.account_flags]
            statements.append((_UPDATE_FLAGS, flags, True))
        if changes.records:
            statements.extend(_insert_records(changes.records, self._record_rows_max))
        if changes.failures:
            statements.append((_INSERT_FAILURE, changes.failures, True))
        for shape, rows in sql.grouped_writes(batch.writes):
            statements.append((sql.write_sql(*shape, "?"), rows, True))
        if batch.checkpoint is not None:
            balances = [(*row[1:], row[0]) for row in batch.balances]
            statements.append((_UPDATE_BALANCE, balances, True))
            statements.append((_SET_META, ("checkpoint", batch.checkpoint), False))
        return statements

    def load_accounts(self) -> Iterator[StoredAccount]:
        """Every account, in creation order."""
        for row in self._connection.execute(sql.SELECT_ACCOUNTS):
            yield sql.stored_account(row)

    def load_records(self, after: int = 0) -> Iterator[TransferRecord]:
        """Every transfer record after ``after``, in timestamp order, streamed."""
        cursor = self._connection.execute(_SELECT_RECORDS, (after,))
        while rows := cursor.fetchmany(8192):
            for row in rows:
                yield sql.transfer_record(row)

    def load_failures(self) -> Iterator[FailureRecord]:
        """Every pinned failure."""
        for row in self._connection.execute(sql.SELECT_FAILURES):
            yield sql.failure_record(row)

    def checkpoint(self) -> int:
        """The timestamp the stored balances are exact at."""
        row = self._connection.execute(
            "SELECT value FROM ledger_meta WHERE key = 'checkpoint'"
        ).fetchone()
        return int(row[0]) if row else 0

    def query(self, statement: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only query (``?`` placeholders), on a reader connection."""
        with self.snapshot() as snapshot:
            return snapshot.query(statement, params)

    def snapshot(self) -> SqliteSnapshot:
        """A read transaction on a reader connection of its own: every query sees one state."""
        with self._readers_lock:
            connection = self._readers.pop() if self._readers else None
        return SqliteSnapshot(self, connection or _connect(self.path, read_only=True))

    def _give_back(self, connection: sqlite3.Connection) -> None:
        """Keep a reader whose transaction ended for the next snapshot (a few at most)."""
        with self._readers_lock:
            if not self._closed and len(self._readers) < readers_kept_max:
                self._readers.append(connection)
                return
        connection.close()

    def execute(self, statement: str, params: Sequence[object] = ()) -> None:
        """One statement in its own transaction."""
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                self._connection.execute(statement, params)
                self._connection.execute("COMMIT")
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the writer's and the kept readers' connections; give up the lease."""
        with self._readers_lock:
            self._closed = True
            readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()
        if self._child is not None:
            self._child.close()
            self._child = None
        self._connection.close()
        if self._lease is not None:
            self._lease.close()
            self._lease = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """The commit process's failures as the store's (it imports nothing of mkoba)."""
    try:
        yield
    except CommitFailed as error:
        raise StoreError(str(error), error.fault) from None


class SqliteSnapshot:
    """A consistent read transaction on a connection of its own."""

    def __init__(self, store: SqliteStore, connection: sqlite3.Connection) -> None:
        self._store = store
        self._connection = connection

    def __enter__(self) -> SqliteSnapshot:
        self._connection.execute("BEGIN")
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._connection.execute("COMMIT")
        except sqlite3.Error:
            self._connection.close()
            raise
        self._store._give_back(self._connection)

    def query(self, statement: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query, all from this snapshot."""
        return self._connection.execute(statement, params).fetchall()


def _insert_records(records: Sequence[Sequence[Any]], rows_max: int) -> Iterator[Statement]:
    """Transfer records, in order, as multi-row INSERTs of power-of-two sizes."""
    assert rows_max > 0
    assert rows_max & (rows_max - 1) == 0, "a power of two"
    start, count, rows = 0, len(records), rows_max
    while start < count:
        while rows > count - start:
            rows //= 2
        chunk = records[start : start + rows]
        yield _insert_records_sql(rows), list(itertools.chain.from_iterable(chunk)), False
        start += rows
    assert start == count


@functools.cache
def _insert_records_sql(rows: int) -> str:
    """INSERT INTO ledger_transfers ... VALUES (...), (...) with ``rows`` rows of marks."""
    assert 0 < rows <= record_rows_max
    row_marks = f"({', '.join('?' * len(TRANSFER_COLUMNS))})"
    sql_text = _INSERT_TRANSFER + f", {row_marks}" * (rows - 1)
    assert sql_text.count("?") == rows * len(TRANSFER_COLUMNS)
    return sql_text


def _power_of_two_at_most(limit: int) -> int:
    """The largest power of two not above ``limit`` (at least 1)."""
    assert limit >= 1, "SQLite allows at least one row of variables"
    return 1 << (limit.bit_length() - 1)


def _statements(script: str) -> list[str]:
    """Split a schema script on semicolons that end a line (no triggers in scripts)."""
    return [part.strip() for part in script.split(";\n") if part.strip()]
