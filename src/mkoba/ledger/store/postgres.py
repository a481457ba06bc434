"""The cluster store: PostgreSQL through psycopg 3, with COPY for the transfer log."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from mkoba.ledger.records import FailureRecord
from mkoba.ledger.store import sql
from mkoba.ledger.store.base import (
    FAULT_DATA,
    FAULT_STORE,
    Commit,
    LeaseLost,
    StoredAccount,
    StoreError,
    check_identifier,
)
from mkoba.ledger.store.lease import Lease, keepalives, lease_ttl_s_default
from mkoba.ledger.store.schema import ACCOUNT_COLUMNS, FAILURE_COLUMNS, POSTGRES, TRANSFER_COLUMNS
from mkoba.ledger.transfer import TransferRecord

# The transfer log goes in as binary COPY. psycopg packs each row in C and the server
# parses no text, which halves the committer's CPU per transfer (a thread that shares
# the GIL with the writer deciding the next batch). These are the columns' own types
# in TRANSFER_COLUMNS order; migrate() checks them against the table.
_TRANSFER_TYPES = ("int8",) * 5 + ("int4",) * 3 + ("int8",) * 3
_COPY_TRANSFERS = (
    f"COPY ledger_transfers ({', '.join(TRANSFER_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
)
_SELECT_TRANSFER_TYPES = (
    "SELECT column_name, udt_name FROM information_schema.columns"
    " WHERE table_schema = current_schema() AND table_name = 'ledger_transfers'"
)
assert len(_TRANSFER_TYPES) == len(TRANSFER_COLUMNS)
_COPY_FAILURES = f"COPY ledger_failures ({', '.join(FAILURE_COLUMNS)}) FROM STDIN"
_INSERT_ACCOUNT = sql.insert_sql("ledger_accounts", ACCOUNT_COLUMNS, "%s")
_UPDATE_FLAGS = sql.with_marks(sql.UPDATE_FLAGS, "%s")
_SET_META = sql.with_marks(sql.SET_META, "%s")
_SELECT_RECORDS = sql.with_marks(sql.SELECT_RECORDS, "%s")
_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS ledger_balance_stage (
    id BIGINT PRIMARY KEY, debits_pending BIGINT, debits_posted BIGINT,
    credits_pending BIGINT, credits_posted BIGINT
) ON COMMIT DELETE ROWS
"""
_APPLY_STAGE = """
UPDATE ledger_accounts AS a SET debits_pending = s.debits_pending,
    debits_posted = s.debits_posted, credits_pending = s.credits_pending,
    credits_posted = s.credits_posted
FROM ledger_balance_stage AS s WHERE a.id = s.id
"""
# How long a starting writer waits past the expiry of a silent writer's lease (lease.py).
lease_wait_s = 1.0
# How long one statement may run before the server cancels it.
statement_timeout_ms = 60_000
# How long connecting may take: a writer rebuilding after a lost server must not hang.
connect_timeout_s = 10
# Errors about the rows of a batch, not the server: the same rows fail again, others do not.
_DATA_ERRORS = (
    psycopg.DataError,
    psycopg.IntegrityError,
    psycopg.ProgrammingError,
    psycopg.NotSupportedError,
)


def split_url(url: str) -> tuple[str, str | None]:
    """The connection URL without mkoba's own ``schema`` parameter, and that schema."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schema = next((value for key, value in query if key == "schema"), None)
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def connect(url: str, schema: str | None, **options: Any) -> psycopg.Connection:
    """A connection with the search path on ``schema`` (created if missing)."""
    connection = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout_s, **options)
    connection.execute(f"SET statement_timeout = {statement_timeout_ms}")
    if schema is not None:
        check_identifier(schema)
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        connection.execute(f"SET search_path TO {schema}")
    return connection


class PostgresStore:
    """The ledger's tables in PostgreSQL; one connection for the writer, readers on their own."""

    def __init__(
        self, url: str, schema: str | None = None, lease_s: float = lease_ttl_s_default
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

    def acquire_lease(self) -> None:
        """Take the ledger's lease (waiting out a silent holder's), or ``StoreError``."""
        self.lease.hold(self._connection, lease_wait_s)

    def migrate(self) -> None:
        """Create the ledger's tables if they are missing."""
        with self._lock, self._connection.transaction():
            # Two processes migrating at once would race on CREATE ... IF NOT EXISTS.
            self._connection.execute("SELECT pg_advisory_xact_lock(7243)")
            self._connection.execute(POSTGRES)
            self._connection.execute(_STAGE)
            row = self._connection.execute(
                "SELECT COALESCE(MAX(created), 0) FROM ledger_accounts"
            ).fetchone()
            types: dict[str, str] = dict(
                self._connection.execute(_SELECT_TRANSFER_TYPES).fetchall()
            )
        assert row is not None
        self._created = int(row[0])
        stored = tuple(types.get(column) for column in TRANSFER_COLUMNS)
        if stored != _TRANSFER_TYPES:
            raise StoreError(f"ledger_transfers has column types {stored}, not {_TRANSFER_TYPES}")

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

    def commit_pipe(self) -> None:
        """None: psycopg's commits block, so a writer commits on its committer thread."""
        return None

    def commit(self, batch: Commit) -> None:
        """Write one batch in one transaction; returns once PostgreSQL has committed it."""
        try:
            with self._lock, self._connection.transaction():
                self._write(batch)
        except LeaseLost:  # fenced: not a fault of the batch or of the server
            raise
        except Exception as error:  # whatever a row holds, the batch fails, not the writer
            # The server's text quotes values (DETAIL: Key (id)=(...)): never pass it on.
            message = f"postgresql commit failed: {describe(error)}"
            raise StoreError(message, self._fault_of(error)) from None

    def _fault_of(self, error: Exception) -> str:
        """Whether a failed commit was its rows' fault or the server's (or connection's)."""
        connection = self._connection
        if connection.broken or connection.closed:
            return FAULT_STORE
        if isinstance(error, _DATA_ERRORS):
            return FAULT_DATA
        if isinstance(error, psycopg.Error | OSError | MemoryError):
            return FAULT_STORE
        # Raised while adapting a row (a lone surrogate, a value of no SQL type).
        return FAULT_DATA

    def recover(self) -> None:
        """After a failed commit: the same connection if it still works, else a new one.

        A new connection is made the lease's writer session again (``LeaseLost`` if
        the lease is gone) and gets its session's staging table.
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

    def health(self) -> dict[str, object]:
        """Whether the writer's connection is open, and the lease (no query: it is polled)."""
        connection = self._connection
        state = "broken" if connection.broken or connection.closed else "open"
        return {"connection": state, "lease": self.lease.report()}

    def _write(self, batch: Commit) -> None:
        connection = self._connection
        changes = batch.changes
        with connection.cursor() as cursor:
            self.lease.fence(cursor)  # first: a writer that lost its lease commits nothing
            if changes.accounts:
                rows = []
                for account in changes.accounts:
                    self._created += 1
                    rows.append(sql.account_row(account, self._created))
                cursor.executemany(_INSERT_ACCOUNT, rows)
            if changes.account_flags:
                cursor.executemany(_UPDATE_FLAGS, [(f, id) for id, f in changes.account_flags])
            if changes.records:
                with cursor.copy(_COPY_TRANSFERS) as copy:
                    copy.set_types(_TRANSFER_TYPES)
                    for record in changes.records:
                        copy.write_row(record)
            if changes.failures:
                with cursor.copy(_COPY_FAILURES) as copy:
                    for failure in changes.failures:
                        copy.write_row(failure)
            for shape, rows in sql.grouped_writes(batch.writes):
                cursor.executemany(sql.write_sql(*shape, "%s"), rows)
            if batch.checkpoint is not None:
                if batch.balances:
                    cursor.execute(_STAGE)
                    with cursor.copy("COPY ledger_balance_stage FROM STDIN") as copy:
                        for row in batch.balances:
                            copy.write_row(row)
                    cursor.execute(_APPLY_STAGE)
                cursor.execute(_SET_META, ("checkpoint", batch.checkpoint))

    def load_accounts(self) -> Iterator[StoredAccount]:
        """Every account, in creation order."""
        for row in self._connection.execute(sql.SELECT_ACCOUNTS).fetchall():
            yield sql.stored_account(row)

    def load_records(self, after: int = 0) -> Iterator[TransferRecord]:
        """Every transfer record after ``after``, in timestamp order, streamed."""
        with self._connection.transaction(), self._connection.cursor(name="ledger_load") as cursor:
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
        """Rows of one read-only query (``?`` placeholders)."""
        with self.snapshot() as snapshot:
            return snapshot.query(statement, params)

    def snapshot(self) -> PostgresSnapshot:
        """A REPEATABLE READ transaction on its own connection."""
        return PostgresSnapshot(self._dsn, self.schema)

    def execute(self, statement: str, params: Sequence[object] = ()) -> None:
        """One statement in its own transaction (fenced, as a commit, if this is the writer)."""
        with self._lock, self._connection.transaction(), self._connection.cursor() as cursor:
            self.lease.fence(cursor)
            cursor.execute(statement.replace("?", "%s").encode(), params)

    def close(self) -> None:
        """Release the lease (a standby takes it at once) and close the connection."""
        self.lease.close()
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def describe(error: BaseException) -> str:
    """An error's kind, SQLSTATE and the names it concerns, never a row's values.

    The server's own message and DETAIL quote values (a duplicate key, a failing row);
    a client-side error's message is psycopg's own text, which does not.
    """
    if isinstance(error, psycopg.Error):
        if error.sqlstate is None:
            return f"{type(error).__name__}: {str(error).partition(chr(10))[0]}"
        diag = error.diag
        names = [
            f"{kind} {name}"
            for kind, name in (
                ("table", diag.table_name),
                ("column", diag.column_name),
                ("constraint", diag.constraint_name),
            )
            if name
        ]
        return ", ".join([f"{type(error).__name__} ({error.sqlstate})", *names])
    if isinstance(error, UnicodeError):
        return f"{type(error).__name__}: {getattr(error, 'reason', 'cannot be encoded')}"
    return type(error).__name__


class PostgresSnapshot:
    """A consistent read transaction on a connection of its own."""

    def __init__(self, dsn: str, schema: str | None) -> None:
        self._connection = connect(dsn, schema)

    def __enter__(self) -> PostgresSnapshot:
        self._connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return self

    def __exit__(self, *exc: object) -> None:
        self._connection.execute("COMMIT")
        self._connection.close()

    def query(self, statement: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query, all from this snapshot."""
        return self._connection.execute(statement.replace("?", "%s").encode(), params).fetchall()
