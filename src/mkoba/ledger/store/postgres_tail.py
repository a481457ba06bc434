"""A standby's reads of a PostgreSQL ledger: one consistent snapshot at a time, and marks.

A warm standby (``mkoba.standby``, ``ledger/warm.py``) loads the ledger while
another writer holds the lease, then keeps up with what that writer commits. It
reads on a connection of its own, read-only for its whole session, each read a
REPEATABLE READ transaction: every table as of one moment, so a transfer is never
seen without the account it moves money on.

What committed since an earlier read is found two ways:

- **Appended rows** (transfer records, pinned failures) carry the ledger's
  timestamp, one sequence that the single writer commits in order: a read sees a
  prefix of it, and the next read asks for the timestamps above the highest seen.
- **Updated rows** (an account's flags, a party, a PIN's attempts) carry nothing of
  the kind, but every row version carries the id of the transaction that wrote it
  (``xmin``). A read's ``mark`` is the oldest transaction still running when its
  snapshot was taken: any row the snapshot did not see was written by that
  transaction or a later one, so ``changed(mark)`` (the rows whose ``xmin`` is at
  or after the mark) holds every row changed since, and some it already saw
  (harmless: they are applied again as they are). The comparison is ``age()``'s,
  modulo 2**32 and safe while the mark is less than 2**31 transactions old; a
  frozen row's age is the largest there is, so it never counts as changed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from mkoba.ledger.store.base import StoreError
from mkoba.ledger.store.postgres_child import connect, describe

# Rows fetched per round trip when a read streams (a whole ledger's transfer records).
stream_rows = 8192
_BEGIN = b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# First in the transaction, so it takes the snapshot: its oldest running transaction.
_MARK = b"SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint % 4294967296)"
# Rows written by the mark's transaction or any later one (see the module's docstring).
_CHANGED = "age(xmin) <= age(?::text::xid)"


class PostgresTail:
    """Consistent reads of one ledger's schema, for a standby (never the writer's)."""

    def __init__(self, dsn: str, schema: str | None) -> None:
        self._dsn = dsn
        self._schema = schema
        self._connection: psycopg.Connection | None = None
        # ``close`` may come from another thread while a read runs: the read stops at
        # its next batch of rows and closes the connection on its own thread.
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._reading = False

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[TailSnapshot]:
        """A REPEATABLE READ READ ONLY transaction; ``StoreError`` if the server fails."""
        with self._lock:
            if self._closed.is_set():
                raise StoreError("the standby's reads are closed")
            self._reading = True
        try:
            connection = self._open()
            connection.execute(_BEGIN)
            row = connection.execute(_MARK).fetchone()
            assert row is not None
            mark = int(row[0])
            assert 0 < mark < 2**32, mark
            yield TailSnapshot(connection, mark, self._closed)
            connection.execute(b"COMMIT")
        except psycopg.Error as error:
            self._drop()
            raise StoreError(f"reading the ledger failed: {describe(error)}") from None
        except BaseException:
            self._drop()
            raise
        finally:
            with self._lock:
                self._reading = False
                closed = self._closed.is_set()
            if closed:
                self._drop()

    def _open(self) -> psycopg.Connection:
        connection = self._connection
        if connection is None or connection.closed or connection.broken:
            connection = connect(self._dsn, self._schema)
            connection.execute(b"SET default_transaction_read_only = on")
            self._connection = connection
        return connection

    def close(self) -> None:
        """No more reads; one in progress on another thread stops at its next rows."""
        with self._lock:
            self._closed.set()
            if self._reading:
                return
        self._drop()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()


class TailSnapshot:
    """One read transaction: queries, streamed queries, and the rows changed since a mark."""

    def __init__(self, connection: psycopg.Connection, mark: int, closed: threading.Event) -> None:
        self._connection = connection
        self._closed = closed
        # The oldest transaction running when this snapshot was taken (32 bits).
        self.mark = mark

    def query(self, statement: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query written with ``?`` placeholders."""
        return self._connection.execute(statement.replace("?", "%s").encode(), params).fetchall()

    def stream(self, statement: str, params: Sequence[object] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows of a query, fetched ``stream_rows`` at a time (a server-side cursor)."""
        with self._connection.cursor(name="ledger_tail") as cursor:
            cursor.itersize = stream_rows
            cursor.execute(statement.replace("?", "%s").encode(), params)
            while rows := cursor.fetchmany(stream_rows):
                if self._closed.is_set():
                    raise StoreError("the standby's reads were closed")
                yield from rows

    @staticmethod
    def changed(mark: int) -> tuple[str, tuple[object, ...]]:
        """A condition (and its parameter) true of every row written since ``mark``'s read."""
        assert 0 < mark < 2**32, mark
        return _CHANGED, (str(mark),)
