"""PostgreSQL commits in a process of their own (``commit_child.py``): the psycopg driver.

The parent sends each batch as its statements (``Statement``); the child and the
in-process path run the same ``transaction``: BEGIN, the batch's statements and
COMMIT in one pipeline, one round trip (``postgres_batch.py``).

Only psycopg, ``commit_child`` and ``postgres_batch``: the child imports nothing else
of mkoba.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from mkoba.ledger.store.commit_child import FAULT_DATA, FAULT_FENCED, FAULT_STORE, CommitChild
from mkoba.ledger.store.postgres_batch import MANY, ONE, ROWS, Statement, run

__all__ = [
    "DRIVER",
    "FENCED_SQLSTATE",
    "MANY",
    "ONE",
    "ROWS",
    "Statement",
    "connect",
    "describe",
    "fault_of",
]

# How long one statement may run before the server cancels it.
statement_timeout_ms = 60_000
# How long connecting may take: a writer rebuilding after a lost server must not hang.
connect_timeout_s = 10
# The error the lease's fence raises (``lease.py``): another writer holds the ledger.
FENCED_SQLSTATE = "ML001"
# Errors about the rows of a batch, not the server: the same rows fail again, others do not.
_DATA_ERRORS = (
    psycopg.DataError,
    psycopg.IntegrityError,
    psycopg.ProgrammingError,
    psycopg.NotSupportedError,
)


# A statement and its parameters, run once on the commit process's new connection.
Setup = tuple[str, Sequence[object]]


def start(dsn: str, schema: str | None, setup: Sequence[Setup] = ()) -> CommitChild:
    """A commit process with a connection of its own to ``dsn``, on ``schema``.

    ``setup``: statements for its session first (the lease's holder's settings).
    """
    return CommitChild(__name__, (dsn, schema, list(setup)))


def connect(dsn: str, schema: str | None, **options: Any) -> psycopg.Connection:
    """A connection with the search path on ``schema`` (created if missing).

    ``schema`` must be a plain identifier (the store checks it before it gets here).
    """
    connection = psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout_s, **options)
    connection.execute(f"SET statement_timeout = {statement_timeout_ms}")
    if schema is not None:
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        connection.execute(f"SET search_path TO {schema}")
    return connection


def transaction(connection: psycopg.Connection, statements: Sequence[Statement]) -> None:
    """Run ``statements`` in one transaction, committed durably; roll back and re-raise."""
    try:
        run(connection, statements)
    except BaseException:
        # Left open, the failed transaction would swallow the next batch.
        usable = not (connection.closed or connection.broken)
        if usable and connection.info.transaction_status != TransactionStatus.IDLE:
            with contextlib.suppress(psycopg.Error):
                connection.execute(b"ROLLBACK", prepare=False)
        raise


def fault_of(connection: psycopg.Connection, error: BaseException) -> str:
    """Whether a failed commit was its rows' fault or the server's (or connection's)."""
    if connection.broken or connection.closed:
        return FAULT_STORE
    if isinstance(error, psycopg.Error) and error.sqlstate == FENCED_SQLSTATE:
        return FAULT_FENCED
    if isinstance(error, _DATA_ERRORS):
        return FAULT_DATA
    if isinstance(error, psycopg.Error | OSError | MemoryError):
        return FAULT_STORE
    # Raised while adapting a row (a lone surrogate, a value of no SQL type).
    return FAULT_DATA


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


class _Postgres:
    """The ``commit_child.Driver`` of a PostgreSQL database (one connection per child)."""

    name = "postgresql"

    def __init__(self) -> None:
        self._connection: psycopg.Connection | None = None

    def open(self, opening: tuple[str, str | None, list[Setup]]) -> psycopg.Connection:
        dsn, schema, setup = opening
        self._connection = connect(dsn, schema)
        for statement, params in setup:
            self._connection.execute(statement.encode(), params)
        return self._connection

    def transaction(self, connection: psycopg.Connection, statements: list[Statement]) -> None:
        transaction(connection, statements)

    def reset(self, connection: psycopg.Connection) -> None:
        if connection.info.transaction_status != TransactionStatus.IDLE:
            connection.execute(b"ROLLBACK", prepare=False)
        connection.execute(b"SELECT 1", prepare=False)  # raises if the server is gone

    def fault_of(self, error: BaseException) -> str:
        if self._connection is None:  # it never connected
            return FAULT_STORE
        return fault_of(self._connection, error)

    def describe(self, error: BaseException) -> str:
        return describe(error)

    def close(self, connection: psycopg.Connection) -> None:
        connection.close()


DRIVER = _Postgres()
