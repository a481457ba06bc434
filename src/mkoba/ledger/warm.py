"""A warm standby's ledger: loaded while another writer holds the lease, kept up with it.

A standby core (``mkoba.standby``) cannot wait to load the ledger until it takes
the lease: on a large ledger the load takes minutes. So it loads the engine at once,
from one snapshot (the same ``loading.load`` as a cold start, checkpoint check
and invariants included), and then follows what the active writer commits, reading
only what is new (``ledger/store/postgres_tail.py`` says how it is found):

- ``follow``: the transfer records and pinned failures above the engine's timestamp,
  replayed as a load replays them, with any account they name that the engine has
  not seen yet. Cheap (an index range): the standby does it every few seconds, so
  what is left to read at takeover stays small.
- ``catch_up``: ``follow``, plus every account row written since the last
  ``catch_up`` (an account created without a transfer yet, one closed or reopened),
  found by a scan of the accounts. Done now and then while standing by, and once
  after the lease is taken: nothing the old writer committed can come later, since
  its every commit is fenced by the lease (``lease.py``).

After ``catch_up`` under the lease the engine equals what a cold load would build
(tests/ledger/test_warm.py compares them); the writer then takes it over
(``LedgerWriter(warm=...)``) instead of loading. The standby never writes: its
reads are a read-only session of their own, and only the writer commits, fenced.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from mkoba.ledger import invariants
from mkoba.ledger.engine import Engine
from mkoba.ledger.loading import load
from mkoba.ledger.records import FailureRecord
from mkoba.ledger.store import sql
from mkoba.ledger.store.base import StoredAccount, StoreError
from mkoba.ledger.store.schema import ACCOUNT_COLUMNS, FAILURE_COLUMNS
from mkoba.ledger.transfer import TransferRecord

_ACCOUNTS = (
    f"SELECT {', '.join(ACCOUNT_COLUMNS)}, debits_pending, debits_posted, credits_pending,"
    " credits_posted FROM ledger_accounts"
)
_ACCOUNT = f"{_ACCOUNTS} WHERE id = ?"
_RECORDS = sql.with_marks(sql.SELECT_RECORDS, "?")
_FAILURES_AFTER = (
    f"SELECT {', '.join(FAILURE_COLUMNS)} FROM ledger_failures WHERE timestamp > ?"
    " ORDER BY timestamp"
)
_CHECKPOINT = "SELECT value FROM ledger_meta WHERE key = 'checkpoint'"


class TailRead(Protocol):
    """One consistent read of the store (``postgres_tail.TailSnapshot``)."""

    mark: int

    def query(self, statement: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query (``?`` placeholders)."""

    def stream(self, statement: str, params: Sequence[object] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows of a query, streamed."""

    def changed(self, mark: int) -> tuple[str, tuple[object, ...]]:
        """A condition true of every row written since the read that had ``mark``."""


class Tail(Protocol):
    """Where a standby reads from (``postgres_tail.PostgresTail``)."""

    def snapshot(self) -> contextlib.AbstractContextManager[TailRead]:
        """One consistent read."""

    def close(self) -> None:
        """Close the connection."""


class WarmLedger:
    """A ledger engine loaded and kept current from ``tail``, never written from here."""

    def __init__(self, tail: Tail) -> None:
        self.tail = tail
        self.engine = Engine()
        # The mark of the read whose account rows the engine holds; 0: not loaded yet.
        self.mark = 0
        self.records_followed = 0

    @property
    def loaded(self) -> bool:
        """Whether the first, whole load is done."""
        return self.mark != 0

    def load(self) -> None:
        """The whole ledger from one snapshot, checked as a cold load checks it."""
        assert not self.loaded, "load once; follow or catch up after"
        with self.tail.snapshot() as read:
            load(_Snapshot(read), self.engine)
            self.mark = read.mark
        assert self.loaded

    def follow(self) -> int:
        """Replay what was appended since: how many records and failures."""
        assert self.loaded
        with self.tail.snapshot() as read:
            return self._follow(read)

    def catch_up(self) -> int:
        """``follow``, and every account row written since the last catch-up (or load)."""
        assert self.loaded
        with self.tail.snapshot() as read:
            where, params = read.changed(self.mark)
            rows = read.query(f"{_ACCOUNTS} WHERE {where} ORDER BY created, id", params)
            touched = [self._account(sql.stored_account(row)) for row in rows]
            problems = invariants.account_violations(self.engine.accounts[i] for i in touched)
            if problems:
                raise StoreError(f"the stored ledger breaks its invariants: {problems[:5]}")
            applied = self._follow(read)
            self.mark = read.mark
        return applied

    def _account(self, stored: StoredAccount) -> int:
        """Take in one account row: a new account, or the flags of a known one."""
        account = stored.account
        state = self.engine.accounts.get(account.id)
        if state is None:
            self.engine.replay_account(account, stored.flags)
        elif state.account != account:  # only flags (and checkpointed balances) change
            raise StoreError(f"account {account.id} changed fields other than its flags")
        elif state.flags != stored.flags:
            state.set_flags(stored.flags)
        return account.id

    def _follow(self, read: TailRead) -> int:
        engine = self.engine
        after = engine.timestamp
        touched: set[int] = set()
        count = 0
        for row in read.stream(_RECORDS, (after,)):
            record = sql.transfer_record(row)
            for account_id in (record.debit_account_id, record.credit_account_id):
                if account_id not in engine.accounts:
                    self._missing(read, account_id)
                touched.add(account_id)
            engine.replay_record(record)
            count += 1
        for row in read.query(_FAILURES_AFTER, (after,)):
            engine.replay_failure(sql.failure_record(row))
            count += 1
        assert engine.timestamp >= after
        assert not any(engine.take_changes())
        problems = invariants.account_violations(engine.accounts[i] for i in touched)
        if problems:
            raise StoreError(f"the stored ledger breaks its invariants: {problems[:5]}")
        self.records_followed += count
        return count

    def _missing(self, read: TailRead, account_id: int) -> None:
        """An account a new record names, created since the last account scan."""
        rows = read.query(_ACCOUNT, (account_id,))
        if not rows:  # a record's accounts commit before it, in the same snapshot
            raise StoreError(f"a transfer record names account {account_id}, not in the store")
        self._account(sql.stored_account(rows[0]))


class _Snapshot:
    """``loading.Source`` over one read: the whole ledger as of that read."""

    def __init__(self, read: TailRead) -> None:
        self._read = read

    def load_accounts(self) -> Iterator[StoredAccount]:
        for row in self._read.stream(f"{_ACCOUNTS} ORDER BY created, id"):
            yield sql.stored_account(row)

    def load_records(self, after: int = 0) -> Iterator[TransferRecord]:
        for row in self._read.stream(_RECORDS, (after,)):
            yield sql.transfer_record(row)

    def load_failures(self) -> Iterator[FailureRecord]:
        for row in self._read.stream(sql.SELECT_FAILURES):
            yield sql.failure_record(row)

    def checkpoint(self) -> int:
        rows = self._read.query(_CHECKPOINT)
        return int(rows[0][0]) if rows else 0
