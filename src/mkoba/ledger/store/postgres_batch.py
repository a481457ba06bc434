"""One batch's transaction on PostgreSQL in one round trip: libpq's pipeline, prepared rows.

A batch is BEGIN, its statements and COMMIT, sent together with one sync and
answered together: one round trip and one fsync. Every statement is prepared
once per connection (named, ``mkoba_<n>``) and then only bound and executed.
A run of rows of one table and shape (``ROWS``) goes as multi-row statements
(``INSERT ... VALUES (...), (...)``, an upsert's ``ON CONFLICT`` on the same;
``UPDATE ... FROM (VALUES ...)``) of 1, 2, 4 ... ``rows_per_statement_max``
rows, so a few prepared statements serve every run's length.

This goes under psycopg's cursors to libpq's own pipeline (``psycopg.pq``): the
parameters are adapted by psycopg's C adapters as text, and the server infers
their types from the statement (an update's ``VALUES`` carry casts to the
columns' types, read once per table). psycopg's executemany spent about 14 us of
the commit process's CPU a row, a COPY needed two round trips of its own; here a
row costs its adaptation and its share of one message.

Only psycopg: the commit process imports nothing else of mkoba.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer

__all__ = ["MANY", "ONE", "ROWS", "Statement", "rows_per_statement_max", "run"]

# How a ``Statement`` runs. ONE: ``(sql, params, ONE)``, once; MANY: ``(sql, rows, MANY)``,
# once a row; ROWS: ``(table, (columns, keys, mode, rows), ROWS)``, the rows of one table
# and shape as multi-row statements, ``mode`` "insert", "upsert" (on ``keys``) or "update"
# (sets the other columns of the rows whose ``keys`` match; each row's values are the
# set columns' then the keys', in ``columns`` order). ``sql`` has ``%s`` placeholders.
ONE, MANY, ROWS = 0, 1, 2
Statement = tuple[str, Any, int]
# The most rows one statement takes (a run is cut in statements of 64, 32 ... 1 rows).
rows_per_statement_max = 64

_TEXT = PyFormat.TEXT
_COMMAND_OK = pq.ExecStatus.COMMAND_OK
_TUPLES_OK = pq.ExecStatus.TUPLES_OK
_PIPELINE_SYNC = pq.ExecStatus.PIPELINE_SYNC
_SELECT_TYPES = (
    b"SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
    b" WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped"
)


class _Session:
    """What one connection has prepared (by SQL), its adapters, its tables' column types."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.names: dict[bytes, bytes] = {}
        self.count = 0
        self.transformer = Transformer(connection)
        self.types: dict[str, dict[str, str]] = {}


_sessions: weakref.WeakKeyDictionary[psycopg.Connection, _Session] = weakref.WeakKeyDictionary()


def run(connection: psycopg.Connection, statements: Sequence[Statement]) -> None:
    """BEGIN, ``statements`` and COMMIT in one pipeline; the first error raised.

    The connection is idle (autocommit) before; after an error its transaction may be
    left failed (the caller rolls it back). Rows that cannot be adapted raise before
    anything is sent.
    """
    session = _sessions.get(connection)
    if session is None:
        session = _sessions[connection] = _Session(connection)
    messages = list(_messages(connection, session, statements))
    pgconn = connection.pgconn
    names = session.names
    unprepared: set[bytes] = set()
    for sql, _ in messages:
        if sql not in names:
            session.count += 1
            names[sql] = b"mkoba_%d" % session.count
            unprepared.add(sql)
    fresh: dict[int, bytes] = {}  # the result index of each PREPARE sent -> its SQL
    blocking = pgconn.nonblocking
    pgconn.nonblocking = 0  # libpq flushes and reads as it needs to: no deadlock
    pgconn.enter_pipeline_mode()
    try:
        sent = _send(pgconn, messages, names, unprepared, fresh)
        error = _collect(pgconn, sent, fresh, names, connection.info.encoding)
    except BaseException:
        for sql in unprepared | set(fresh.values()):  # perhaps not prepared: again next time
            names.pop(sql, None)
        raise
    finally:
        try:
            pgconn.exit_pipeline_mode()
        finally:
            pgconn.nonblocking = blocking
    if error is not None:
        raise error


def _send(
    pgconn: Any,
    messages: list[tuple[bytes, Sequence[Any]]],
    names: dict[bytes, bytes],
    unprepared: set[bytes],
    fresh: dict[int, bytes],
) -> int:
    """Queue the batch and the sync; the number of results to read before it.

    ``unprepared`` loses each statement as its PREPARE is queued, ``fresh`` gains it.
    """
    pgconn.send_query_params(b"BEGIN", None)
    sent = 1
    for sql, params in messages:
        name = names[sql]
        if sql in unprepared:
            unprepared.discard(sql)
            pgconn.send_prepare(name, sql)
            fresh[sent] = sql
            sent += 1
        pgconn.send_query_prepared(name, params)
        sent += 1
    pgconn.send_query_params(b"COMMIT", None)
    pgconn.pipeline_sync()
    return sent + 1


def _collect(
    pgconn: Any, sent: int, fresh: dict[int, bytes], names: dict[bytes, bytes], encoding: str
) -> psycopg.Error | None:
    """Read every result up to the sync: the first error, if any (the rest were skipped)."""
    error: psycopg.Error | None = None
    index = 0
    while True:
        result = pgconn.get_result()
        if result is None:  # the end of one statement's results
            index += 1
            if index > sent or pgconn.status == pq.ConnStatus.BAD:
                raise psycopg.OperationalError("the connection to the server was lost")
            continue
        status = result.status
        if status == _PIPELINE_SYNC:
            break
        if status in (_COMMAND_OK, _TUPLES_OK):
            fresh.pop(index, None)  # prepared, if it was a PREPARE
            continue
        sql = fresh.pop(index, None)
        if sql is not None:  # a PREPARE that failed or was skipped
            names.pop(sql, None)
        if error is None and status == pq.ExecStatus.FATAL_ERROR:
            error = errors.error_from_result(result, encoding=encoding)
    if pgconn.status == pq.ConnStatus.BAD:
        raise error or psycopg.OperationalError("the connection to the server was lost")
    return error


def _messages(
    connection: psycopg.Connection, session: _Session, statements: Sequence[Statement]
) -> Iterator[tuple[bytes, Sequence[Any]]]:
    """Each statement's SQL (numbered placeholders) and its parameters adapted as text."""
    dump = session.transformer.dump_sequence
    for sql, params, kind in statements:
        if kind == ONE:
            yield _numbered(sql), dump(params, [_TEXT] * len(params))
        elif kind == MANY:
            numbered = _numbered(sql)
            for row in params:
                yield numbered, dump(row, [_TEXT] * len(row))
        else:
            assert kind == ROWS, kind
            yield from _rows(connection, session, sql, *params)


def _rows(
    connection: psycopg.Connection,
    session: _Session,
    table: str,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    mode: str,
    rows: Sequence[Sequence[object]],
) -> Iterator[tuple[bytes, Sequence[Any]]]:
    """A run of rows as statements of up to ``rows_per_statement_max`` rows each."""
    if keys and len(rows) > 1:
        # One statement cannot touch a row twice: the last of a key's rows is what a
        # statement a row would have left (each sets every column but the keys).
        rows = _last_of_each_key(columns, keys, mode, rows)
    types: tuple[str, ...] = ()
    if mode == "update" and len(rows) > 1:
        types = _types(connection, session, table, columns, keys)
    dump = session.transformer.dump_sequence
    start = 0
    while start < len(rows):
        count = _chunk(len(rows) - start)
        chunk = rows[start : start + count]
        start += count
        params = [value for row in chunk for value in row]
        sql = _rows_sql(table, columns, keys, mode, count, types)
        yield sql, dump(params, [_TEXT] * len(params))


def _chunk(left: int) -> int:
    """The largest power of two up to ``rows_per_statement_max`` and ``left``."""
    if left >= rows_per_statement_max:
        return rows_per_statement_max
    return 1 << (left.bit_length() - 1)


def _last_of_each_key(
    columns: tuple[str, ...], keys: tuple[str, ...], mode: str, rows: Sequence[Sequence[object]]
) -> list[Sequence[object]]:
    """Each key's last row, in the order of those last rows."""
    order = _ordered(columns, keys) if mode == "update" else columns
    where = [order.index(key) for key in keys]
    last: dict[tuple[object, ...], Sequence[object]] = {}
    for row in rows:
        key = tuple(row[i] for i in where)
        last.pop(key, None)
        last[key] = row
    return list(last.values())


def _ordered(columns: tuple[str, ...], keys: tuple[str, ...]) -> tuple[str, ...]:
    """An update's columns in its rows' order: the set columns, then the keys."""
    return tuple(column for column in columns if column not in keys) + keys


def _types(
    connection: psycopg.Connection,
    session: _Session,
    table: str,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
) -> tuple[str, ...]:
    """The SQL types of an update's columns, in its rows' order (read once per table)."""
    known = session.types.get(table)
    if known is None:
        result = connection.pgconn.exec_params(_SELECT_TYPES, [table.encode()])
        if result.status != _TUPLES_OK:
            raise errors.error_from_result(result, encoding=connection.info.encoding)
        known = {
            result.get_value(row, 0).decode(): result.get_value(row, 1).decode()  # type: ignore[union-attr]
            for row in range(result.ntuples)
        }
        session.types[table] = known
    return tuple(known[column] for column in _ordered(columns, keys))


@lru_cache(maxsize=1024)
def _numbered(sql: str) -> bytes:
    """``sql`` with ``$1``, ``$2`` ... for its ``%s`` placeholders."""
    parts = sql.split("%s")
    out = [parts[0]]
    for number, part in enumerate(parts[1:], 1):
        out.append(f"${number}{part}")
    return "".join(out).encode()


@lru_cache(maxsize=1024)
def _rows_sql(
    table: str,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    mode: str,
    count: int,
    types: tuple[str, ...],
) -> bytes:
    """One statement for ``count`` rows of a run (names checked by the parent)."""
    width = len(columns)
    casts = types or ("",) * width
    values = ", ".join(
        "(" + ", ".join(f"${row * width + i + 1}{_cast(casts[i])}" for i in range(width)) + ")"
        for row in range(count)
    )
    if mode == "update":
        order = _ordered(columns, keys)
        sets = [column for column in order if column not in keys]
        if count == 1:
            assignments = ", ".join(f"{column} = ${i + 1}" for i, column in enumerate(sets))
            wheres = " AND ".join(f"{key} = ${len(sets) + i + 1}" for i, key in enumerate(keys))
            return f"UPDATE {table} SET {assignments} WHERE {wheres}".encode()
        assignments = ", ".join(f"{column} = v.{column}" for column in sets)
        wheres = " AND ".join(f"{table}.{key} = v.{key}" for key in keys)
        return (
            f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v ({', '.join(order)})"
            f" WHERE {wheres}"
        ).encode()
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"
    if mode == "upsert":
        updates = [f"{column} = excluded.{column}" for column in columns if column not in keys]
        action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
        sql += f" ON CONFLICT ({', '.join(keys)}) {action}"
    else:
        assert mode == "insert", mode
    return sql.encode()


def _cast(type: str) -> str:
    return f"::{type}" if type else ""
