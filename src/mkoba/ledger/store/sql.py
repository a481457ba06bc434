"""What the SQLite and PostgreSQL stores share: statements, row mapping, attached writes."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from itertools import groupby
from typing import Any

from mkoba.ledger.account import Account, AccountFlags, AccountKind, Balance
from mkoba.ledger.records import FailureRecord
from mkoba.ledger.store.base import StoredAccount, Write, WriteMode, check_identifier
from mkoba.ledger.store.schema import ACCOUNT_COLUMNS, FAILURE_COLUMNS, TRANSFER_COLUMNS
from mkoba.ledger.transfer import TransferRecord

_new = tuple.__new__


def insert_sql(table: str, columns: Sequence[str], mark: str, upsert: Sequence[str] = ()) -> str:
    """An INSERT (or upsert on ``upsert``'s key columns) with ``mark`` placeholders."""
    check_identifier(table)
    for column in columns:
        check_identifier(column)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    if upsert:
        updates = [f"{column} = excluded.{column}" for column in columns if column not in upsert]
        action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
        sql += f" ON CONFLICT ({', '.join(upsert)}) {action}"
    return sql


@functools.lru_cache(maxsize=4096)
def write_sql(
    table: str, columns: tuple[str, ...], keys: tuple[str, ...], mode: WriteMode, mark: str
) -> str:
    """The statement for a group of ``Write`` rows of one shape (made once per shape)."""
    if mode == WriteMode.INSERT:
        assert not keys, "an insert has no key columns"
        return insert_sql(table, columns, mark)
    if mode == WriteMode.UPSERT:
        assert keys, "an upsert needs key columns"
        return insert_sql(table, columns, mark, keys)
    assert mode == WriteMode.UPDATE, mode
    assert keys, "an update needs key columns"
    check_identifier(table)
    for column in columns:
        check_identifier(column)
    sets = [f"{column} = {mark}" for column in columns if column not in keys]
    wheres = [f"{column} = {mark}" for column in keys]
    assert sets, "an update sets at least one column"
    return f"UPDATE {table} SET {', '.join(sets)} WHERE {' AND '.join(wheres)}"


def write_params(write: Write) -> tuple[object, ...]:
    """The parameters of one ``Write`` in the order ``write_sql`` expects them."""
    if write.mode != WriteMode.UPDATE:
        return write.values
    pairs = dict(zip(write.columns, write.values, strict=True))
    sets = tuple(pairs[column] for column in write.columns if column not in write.keys)
    return sets + tuple(pairs[column] for column in write.keys)


WriteShape = tuple[str, tuple[str, ...], tuple[str, ...], str]


def grouped_writes(
    writes: Sequence[Write],
) -> Iterable[tuple[WriteShape, list[tuple[object, ...]]]]:
    """Consecutive writes of the same shape, as one executemany each.

    Order between groups is kept, so a row written after another lands after it.
    """
    for shape, group in groupby(
        writes, key=lambda write: (write.table, write.columns, write.keys, write.mode)
    ):
        yield shape, [write_params(write) for write in group]


def grouped_by_table(
    writes: Sequence[Write],
) -> Iterable[tuple[WriteShape, list[tuple[object, ...]]]]:
    """``grouped_writes`` of the writes taken table by table, each table's in its own order.

    A batch interleaves its commands' rows (a request, its receipt, its SMS, the next
    request...): taken as written, about one statement per two rows. Rows of different
    tables commute (no mkoba table has a trigger or a foreign key, and nothing reads
    between the writes of one transaction), so only each table's own order is kept: a
    row written after another of its table (an update after the insert) lands after it.
    """
    tables: dict[str, list[Write]] = {}
    for write in writes:
        tables.setdefault(write.table, []).append(write)
    for rows in tables.values():
        yield from grouped_writes(rows)


def account_row(account: Account, created: int) -> tuple[object, ...]:
    """The stored columns of a newly created account."""
    flags = int(account.flags)
    return (
        account.id,
        account.ledger,
        account.currency,
        int(account.kind),
        flags,
        flags,
        account.overdraft_limit,
        account.balance_max,
        account.code,
        account.user_data,
        created,
    )


SELECT_ACCOUNTS = (
    f"SELECT {', '.join(ACCOUNT_COLUMNS)}, debits_pending, debits_posted, credits_pending,"
    " credits_posted FROM ledger_accounts ORDER BY created, id"
)
SELECT_RECORDS = (
    f"SELECT {', '.join(TRANSFER_COLUMNS)} FROM ledger_transfers"
    " WHERE timestamp > {mark} ORDER BY timestamp"
)
SELECT_FAILURES = f"SELECT {', '.join(FAILURE_COLUMNS)} FROM ledger_failures ORDER BY timestamp"
UPDATE_FLAGS = "UPDATE ledger_accounts SET flags = {mark} WHERE id = {mark}"
UPDATE_BALANCE = (
    "UPDATE ledger_accounts SET debits_pending = {mark}, debits_posted = {mark},"
    " credits_pending = {mark}, credits_posted = {mark} WHERE id = {mark}"
)
SET_META = (
    "INSERT INTO ledger_meta (key, value) VALUES ({mark}, {mark})"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


def stored_account(row: Sequence[Any]) -> StoredAccount:
    """A loaded account from a SELECT_ACCOUNTS row."""
    (
        id,
        ledger,
        currency,
        kind,
        created_flags,
        flags,
        limit,
        maximum,
        code,
        user_data,
        _created,
        debits_pending,
        debits_posted,
        credits_pending,
        credits_posted,
    ) = row
    account = Account(
        id=int(id),
        ledger=int(ledger),
        currency=str(currency),
        kind=AccountKind(kind),
        flags=AccountFlags(created_flags),
        overdraft_limit=int(limit),
        balance_max=None if maximum is None else int(maximum),
        code=int(code),
        user_data=int(user_data),
    )
    balance = Balance(
        int(debits_pending),
        int(debits_posted),
        int(credits_pending),
        int(credits_posted),
    )
    return StoredAccount(account, int(flags), balance)


def transfer_record(row: Sequence[Any]) -> TransferRecord:
    """A loaded transfer record."""
    return _new(TransferRecord, row)


def failure_record(row: Sequence[Any]) -> FailureRecord:
    """A loaded pinned failure."""
    return _new(FailureRecord, row)


def with_marks(sql: str, mark: str) -> str:
    """``sql`` with this dialect's placeholder."""
    return sql.replace("{mark}", mark)
