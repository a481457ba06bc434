"""SQLite commits in a process of their own (``commit_child.py``): the SQLite driver.

Python's sqlite3 releases the GIL around every step and takes it back after, so
a committer thread beside a busy event loop waits for the interpreter at every
statement, and again to acknowledge the batch: at saturation the Daraja
benchmark's commits took 6 ms of wall time for 1 ms of work. The parent sends
each batch as its statements (``Statement``: SQL, parameters, one row or many);
the child and the in-thread path run the same ``transaction``.

The child inherits the store's lease (its open file description), so the lock
is held until both have exited: a new writer cannot load the store while a
child could still commit a batch of the old one.

Standard library only, with ``commit_child``: the child starts in about 25 ms,
without importing mkoba, while the parent loads the ledger.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from mkoba.ledger.store.commit_child import (
    FAULT_DATA,
    FAULT_STORE,
    CommitChild,
    CommitFailed,
)

__all__ = ["DRIVER", "CommitFailed", "Statement", "describe", "fault_of", "start", "transaction"]

# (sql, parameters, many): ``many`` runs executemany over a sequence of rows.
Statement = tuple[str, Sequence[object], bool]
# SQLite result codes (an extended code's low byte) that mean the database failed, not
# the batch's rows: PERM, ABORT, BUSY, LOCKED, NOMEM, READONLY, INTERRUPT, IOERR,
# CORRUPT, FULL, CANTOPEN, PROTOCOL, SCHEMA, NOLFS, AUTH, NOTADB.
_STORE_CODES = frozenset({3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 17, 22, 23, 26})


def start(path: str, setup: Sequence[str], *, lease_fd: int | None) -> CommitChild:
    """A commit process on the file at ``path``, its connection set up with ``setup``."""
    shared = () if lease_fd is None else (lease_fd,)
    return CommitChild(__name__, (path, list(setup)), pass_fds=shared)


def fault_of(error: BaseException) -> str:
    """Whether a failed transaction was its rows' fault (``FAULT_DATA``) or the database's."""
    if isinstance(error, OSError | MemoryError):
        return FAULT_STORE
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _STORE_CODES:
        return FAULT_STORE
    # A constraint, a value SQLite cannot bind (a lone surrogate, an int beyond 64
    # bits, a list), a missing table: the same rows would fail again, others would not.
    return FAULT_DATA


def describe(error: BaseException) -> str:
    """An error's kind and cause without the values that caused it (they may be secrets).

    SQLite's messages name tables, columns and constraints, never values; Python's
    own may quote the value (an encoding error shows the character), so of those only
    the kind is kept.
    """
    if isinstance(error, sqlite3.Error):
        return f"{type(error).__name__}: {error}"
    if isinstance(error, UnicodeError):
        return f"{type(error).__name__}: {getattr(error, 'reason', 'cannot be encoded')}"
    if isinstance(error, OverflowError):
        return "OverflowError: an int too big for a column"
    return type(error).__name__


def transaction(connection: sqlite3.Connection, statements: Sequence[Statement]) -> None:
    """Run ``statements`` in one write transaction; roll back and re-raise on any error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        for sql, params, many in statements:
            if many:
                connection.executemany(sql, params)  # type: ignore[arg-type]
            else:
                connection.execute(sql, params)
        connection.execute("COMMIT")
    except BaseException:
        # Any error, not only SQLite's (binding a text that cannot be encoded raises
        # UnicodeEncodeError): left open, the transaction would swallow the next batch.
        # SQLite may have rolled back already (a full disk, an I/O error).
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


class _Sqlite:
    """The ``commit_child.Driver`` of a SQLite file."""

    name = "sqlite"

    def open(self, opening: tuple[str, list[str]]) -> sqlite3.Connection:
        path, setup = opening
        connection = sqlite3.connect(path, isolation_level=None)
        for pragma in setup:
            connection.execute(pragma)
        return connection

    def transaction(self, connection: sqlite3.Connection, statements: list[Statement]) -> None:
        transaction(connection, statements)

    def reset(self, connection: sqlite3.Connection) -> None:
        if connection.in_transaction:
            connection.execute("ROLLBACK")

    def fault_of(self, error: BaseException) -> str:
        return fault_of(error)

    def describe(self, error: BaseException) -> str:
        return describe(error)

    def close(self, connection: sqlite3.Connection) -> None:
        connection.close()


DRIVER = _Sqlite()
