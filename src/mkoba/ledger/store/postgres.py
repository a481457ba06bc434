"""The cluster store: PostgreSQL through psycopg 3, a batch in one pipelined transaction.

The writer's batches commit in a child process with a connection of its own
(``postgres_child.py``, the default once the store holds the lease), so that no
round trip to the server waits for the interpreter a busy event loop holds; the
child's session is named as the lease holder's, and each of its transactions
starts with the lease's fence (``lease.py``). Reads run on a small pool of kept
connections.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from mkoba.ledger.records import FailureRecord
from mkoba.ledger.store import postgres_child, sql
from mkoba.ledger.store.base import (
    FAULT_DATA,
    FAULT_FENCED,
    Commit,
    CommitPipe,
    LeaseLost,
    StoredAccount,
    StoreError,
    check_identifier,
)
from mkoba.ledger.store.commit_child import ChildPipe, CommitChild, CommitFailed
from mkoba.ledger.store.lease import Lease, keepalives, lease_ttl_s_default
from mkoba.ledger.store.postgres_child import ONE, ROWS, Statement, describe, transaction
from mkoba.ledger.store.postgres_readers import PostgresSnapshot, Readers
from mkoba.ledger.store.postgres_tail import PostgresTail
from mkoba.ledger.store.schema import ACCOUNT_COLUMNS, FAILURE_COLUMNS, POSTGRES, TRANSFER_COLUMNS
from mkoba.ledger.transfer import TransferRecord

_SET_META = sql.with_marks(sql.SET_META, "%s")
_SELECT_RECORDS = sql.with_marks(sql.SELECT_RECORDS, "%s")
_FLAG_COLUMNS = ("flags", "id")
_BALANCE_COLUMNS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted", "id")
# How long a starting writer waits past the expiry of a silent writer's lease (lease.py).
lease_wait_s = 1.0


def split_url(url: str) -> tuple[str, str | None]:
    """The connection URL without mkoba's own ``schema`` parameter, and that schema."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schema = next((value for key, value in query if key == "schema"), None)
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def connect(url: str, schema: str | None, **options: Any) -> psycopg.Connection:
    """A connection with the search path on ``schema`` (created if missing)."""
    if schema is not None:
        check_identifier(schema)
    return postgres_child.connect(url, schema, **options)


class PostgresStore:
    """The ledger's tables in PostgreSQL; one connection for the writer, readers on their own."""

    def __init__(
        self,
        url: str,
        schema: str | None = None,
        lease_s: float = lease_ttl_s_default,
        *,
        commit_process: bool = True,
    ) -> None:
        self._dsn, url_schema = split_url(url)
        self.schema = schema or url_schema
        self.url = url
        self.embedded = False
        self._connection = connect(self._dsn, self.schema)
        self._lock = threading.Lock()
        self._created = 0
        # The writer's lease (lease.py): a row with a fencing token, checked at each commit.
        where = f"schema {self.schema}" if self.schema else "this database"
        self.lease = Lease(lambda: connect(self._dsn, self.schema, **keepalives), lease_s, where)
        self._commit_process = commit_process
        self._child: CommitChild | None = None
        self._readers = Readers(self._dsn, self.schema)

    def acquire_lease(self) -> None:
        """Take the ledger's lease (waiting out a silent holder's), or ``StoreError``."""
        self.lease.hold(self._connection, lease_wait_s)

    def _start_child(self) -> CommitChild:
        """A commit process whose session is named as this lease holder's (lease.py)."""
        return postgres_child.start(self._dsn, self.schema, [self.lease.session()])

    def migrate(self) -> None:
        """Create the ledger's tables if they are missing."""
        with self._lock, self._connection.transaction():
            # Two processes migrating at once would race on CREATE ... IF NOT EXISTS.
            self._connection.execute("SELECT pg_advisory_xact_lock(7243)")
            self._connection.execute(POSTGRES)
            row = self._connection.execute(
                "SELECT COALESCE(MAX(created), 0) FROM ledger_accounts"
            ).fetchone()
        assert row is not None
        self._created = int(row[0])
        if self.lease.token and self._commit_process and self._child is None:
            # Started now, it connects while the writer loads the ledger.
            self._child = self._start_child()

    def migrate_script(self, name: str, script: str) -> None:
        """Run a named schema script once, recorded in ledger_migrations."""
        with self._lock, self._connection.transaction():
            self._connection.execute("SELECT pg_advisory_xact_lock(7243)")
            seen = self._connection.execute(
                "SELECT 1 FROM ledger_migrations WHERE name = %s", (name,)
            ).fetchone()
            if seen:
                return
            self._connection.execute(script.encode())
            self._connection.execute("INSERT INTO ledger_migrations (name) VALUES (%s)", (name,))

    def commit(self, batch: Commit) -> None:
        """Write one batch in one transaction; returns once PostgreSQL has committed it."""
        statements = self._statements_of(batch)
        if self._child is not None:
            with self._child_errors():
                self._child.commit(statements)
            return
        try:
            with self._lock:
                transaction(self._connection, statements)
        except Exception as error:  # whatever a row holds, the batch fails, not the writer
            fault = postgres_child.fault_of(self._connection, error)
            if fault == FAULT_FENCED:
                raise self._fenced() from None
            # The server's text quotes values (DETAIL: Key (id)=(...)): never pass it on.
            message = f"postgresql commit failed: {describe(error)}"
            raise StoreError(message, fault) from None

    def _fenced(self) -> LeaseLost:
        """A batch its fence refused: the lease is lost for good (``Lease.fenced``)."""
        with self._lock:
            connection = None if self._connection.broken else self._connection
            return self.lease.fenced(connection)

    @contextlib.contextmanager
    def _child_errors(self) -> Iterator[None]:
        """The commit process's failures as the store's; a fenced batch as ``LeaseLost``."""
        try:
            yield
        except CommitFailed as error:
            if error.fault == FAULT_FENCED:
                raise self._fenced() from None
            raise StoreError(str(error), error.fault) from None

    def commit_pipe(self) -> CommitPipe | None:
        """Commits without waiting, for a writer on an event loop: the commit process's pipe.

        None without a commit process. Waits until the process has connected.
        """
        if self._child is None:
            return None
        with self._child_errors():
            self._child.ready()
        return ChildPipe(self._child, self._statements_of, self._child_errors)

    def recover(self) -> None:
        """After a failed commit: the same connection if it still works, else a new one.

        A new connection is made the lease's writer session again (``LeaseLost`` if
        the lease is gone) and gets its session's staging table; the commit process is
        reset, or replaced if it is gone.
        """
        try:
            self._connection.execute("SELECT 1")
            alive = True
        except psycopg.Error:
            alive = False
        try:
            if not alive:
                fresh = connect(self._dsn, self.schema)
                with self._lock:
                    old, self._connection = self._connection, fresh
                with contextlib.suppress(psycopg.Error):
                    old.close()
                self.acquire_lease()
            self.migrate()
        except psycopg.Error as error:
            raise StoreError(f"postgresql recovery failed: {describe(error)}") from None
        if self._child is None:
            return
        try:
            with self._child_errors():
                self._child.reset()
            return
        except LeaseLost:
            raise
        except StoreError:
            pass
        # Gone, or its connection is: a new one (the lease is this store's, held above).
        self._child.close()
        self._child = self._start_child()
        with self._child_errors():
            self._child.ready()

    def health(self) -> dict[str, object]:
        """The writer's connection, the lease, and whether the commit process runs (no query)."""
        connection = self._connection
        state = "broken" if connection.broken or connection.closed else "open"
        health: dict[str, object] = {"connection": state, "lease": self.lease.report()}
        if self._commit_process and self.lease.token:
            alive = self._child is not None and self._child.alive()
            health["commit_process"] = "alive" if alive else "stopped"
        return health

    def _statements_of(self, batch: Commit) -> list[Statement]:
        """``_statements``, with a row that cannot be sent as the batch's own fault."""
        try:
            return self._statements(batch)
        except LeaseLost:
            raise
        except Exception as error:
            raise StoreError(f"postgresql batch refused: {describe(error)}", FAULT_DATA) from None

    def _statements(self, batch: Commit) -> list[Statement]:
        """The batch as statements: each table's rows of one shape a run (``ROWS``)."""
        changes = batch.changes
        statements: list[Statement] = []
        # First: a writer that lost its lease commits nothing (``LeaseLost`` here if known).
        fence = self.lease.fence_statement()
        if fence is not None:
            statements.append((*fence, ONE))
        if changes.accounts:
            rows = []
            for account in changes.accounts:
                self._created += 1
                rows.append(sql.account_row(account, self._created))
            statements.append(("ledger_accounts", (ACCOUNT_COLUMNS, (), "insert", rows), ROWS))
        if changes.account_flags:
            flags = [(flags, id) for id, flags in changes.account_flags]
            statements.append(("ledger_accounts", (_FLAG_COLUMNS, ("id",), "update", flags), ROWS))
        # A table's rows of one shape together: a few multi-row statements for the run.
        for shape, rows in sql.grouped_by_table(batch.writes):
            sql.write_sql(*shape, "%s")  # checks the names
            table, columns, keys, mode = shape
            # The mode as a plain str: the commit process imports nothing of mkoba.
            statements.append((table, (columns, keys, str(mode), rows), ROWS))
        # Plain tuples: a record's own class need not be imported to unpickle it.
        if changes.records:
            records = [tuple(record) for record in changes.records]
            statements.append(("ledger_transfers", (TRANSFER_COLUMNS, (), "insert", records), ROWS))
        if changes.failures:
            failures = [tuple(failure) for failure in changes.failures]
            statements.append(("ledger_failures", (FAILURE_COLUMNS, (), "insert", failures), ROWS))
        if batch.checkpoint is not None:
            if batch.balances:
                # (id, four balances) as an update's rows: the set columns, then the key.
                balances = [(*balance[1:], balance[0]) for balance in batch.balances]
                update = (_BALANCE_COLUMNS, ("id",), "update", balances)
                statements.append(("ledger_accounts", update, ROWS))
            statements.append((_SET_META, ("checkpoint", batch.checkpoint), ONE))
        return statements

    def tail(self) -> PostgresTail:
        """Consistent reads on a connection of their own, for a warm standby (``warm.py``)."""
        return PostgresTail(self._dsn, self.schema)

    def load_accounts(self) -> Iterator[StoredAccount]:
        """Every account, in creation order."""
        for row in self._connection.execute(sql.SELECT_ACCOUNTS).fetchall():
            yield sql.stored_account(row)

    def load_records(self, after: int = 0) -> Iterator[TransferRecord]:
        """Every transfer record after ``after``, in timestamp order, streamed."""
        with self._connection.transaction(), self._connection.cursor(name="ledger_load") as cursor:
            # The writer's session ends a transaction idle for 2 s (a hung holder's, lease.py);
            # between fetches of a long load the replay (a GC pass over millions of objects,
            # a busy machine) can take longer, which ended a 1M-customer load after a takeover.
            self._connection.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            cursor.itersize = 8192
            cursor.execute(_SELECT_RECORDS, (after,))
            for row in cursor:
                yield sql.transfer_record(row)

    def load_failures(self) -> Iterator[FailureRecord]:
        """Every pinned failure."""
        for row in self._connection.execute(sql.SELECT_FAILURES).fetchall():
            yield sql.failure_record(row)

    def checkpoint(self) -> int:
        """The timestamp the stored balances are exact at."""
        row = self._connection.execute(
            "SELECT value FROM ledger_meta WHERE key = 'checkpoint'"
        ).fetchone()
        return int(row[0]) if row else 0

    def query(self, statement: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only query (``?`` placeholders), on a kept reader connection."""
        return self._readers.query(statement, params)

    def snapshot(self) -> PostgresSnapshot:
        """A REPEATABLE READ transaction on a kept reader connection (or a new one)."""
        return self._readers.snapshot()

    def execute(self, statement: str, params: Sequence[object] = ()) -> None:
        """One statement in its own transaction (fenced, as a commit, if this is the writer)."""
        with self._lock, self._connection.transaction(), self._connection.cursor() as cursor:
            self.lease.fence(cursor)
            cursor.execute(statement.replace("?", "%s").encode(), params)

    def close(self) -> None:
        """Release the lease (a standby takes it at once) and close the connections.

        The commit process goes first: it finishes the batch it holds, under the lease.
        """
        if self._child is not None:
            self._child.close()
            self._child = None
        self.lease.close()
        self._readers.close()
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
