"""PostgreSQL reads on kept connections: a query or a snapshot opens no connection of its own.

Opening a connection costs a server process's start and four round trips (connect,
timeout, schema, search path): several times most of the reads TranProc and the
channels make. Readers are kept between reads, a few at most, read-only for their
whole session (``default_transaction_read_only``), so that a write sent by mistake
through a read fails instead of committing. A ``query`` is one statement in its own
implicit transaction, consistent by itself, in one round trip; a snapshot is a
REPEATABLE READ transaction, every query in it seeing one state.

A kept reader the server has dropped (restarted, or the connection timed out) is
found at its next use: the read goes again once on a new connection, so a stale
pool never fails a read that a fresh connection would serve.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from mkoba.ledger.store.postgres_child import connect

# Reader connections kept open between reads (threads read at once: asyncio.to_thread).
readers_kept_max = 8


class Readers:
    """Kept read-only connections to one database and schema."""

    def __init__(self, dsn: str, schema: str | None) -> None:
        self._dsn = dsn
        self._schema = schema
        self._kept: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def query(self, statement: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement (``?`` placeholders), in one round trip."""
        sql = statement.replace("?", "%s").encode()
        connection, kept = self._take()
        try:
            rows = connection.execute(sql, params).fetchall()
        except psycopg.OperationalError:
            if not (kept and connection.broken):
                self.give_back(connection)
                raise
            # Dropped while kept: not the read's fault. Once more, on a new connection.
            connection.close()
            connection = self._connect()
            try:
                rows = connection.execute(sql, params).fetchall()
            except BaseException:
                self.give_back(connection)
                raise
        except BaseException:
            self.give_back(connection)
            raise
        self.give_back(connection)
        return rows

    def snapshot(self) -> PostgresSnapshot:
        """A REPEATABLE READ transaction on a kept reader (or a new one)."""
        return PostgresSnapshot(self)

    def begin(self) -> psycopg.Connection:
        """A reader inside a new REPEATABLE READ READ ONLY transaction."""
        connection, kept = self._take()
        try:
            connection.execute(b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        except psycopg.OperationalError:
            connection.close()
            if not kept:
                raise
            connection = self._connect()
            connection.execute(b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return connection

    def give_back(self, connection: psycopg.Connection) -> None:
        """Keep a reader whose transaction has ended for the next read (a few at most)."""
        usable = not (connection.closed or connection.broken)
        if usable and connection.info.transaction_status == TransactionStatus.IDLE:
            with self._lock:
                if not self._closed and len(self._kept) < readers_kept_max:
                    self._kept.append(connection)
                    return
        connection.close()

    def close(self) -> None:
        """Close every kept reader; readers given back later are closed then."""
        with self._lock:
            self._closed = True
            kept, self._kept = self._kept, []
        for connection in kept:
            with contextlib.suppress(psycopg.Error):
                connection.close()

    def _take(self) -> tuple[psycopg.Connection, bool]:
        """A kept reader (True), or a new one (False)."""
        with self._lock:
            if self._kept:
                return self._kept.pop(), True
        return self._connect(), False

    def _connect(self) -> psycopg.Connection:
        connection = connect(self._dsn, self._schema)
        connection.execute(b"SET default_transaction_read_only = on")
        return connection


class PostgresSnapshot:
    """A consistent read transaction on a reader of its own until it ends."""

    def __init__(self, readers: Readers) -> None:
        self._readers = readers
        self._connection: psycopg.Connection | None = None

    def __enter__(self) -> PostgresSnapshot:
        self._connection = self._readers.begin()
        return self

    def __exit__(self, *exc: object) -> None:
        connection = self._connection
        assert connection is not None, "a snapshot is used as a context manager"
        self._connection = None
        try:
            connection.execute(b"COMMIT")
        except BaseException:
            connection.close()
            raise
        self._readers.give_back(connection)

    def query(self, statement: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query, all from this snapshot."""
        connection = self._connection
        assert connection is not None, "a snapshot's queries run inside its with block"
        return connection.execute(statement.replace("?", "%s").encode(), params).fetchall()
