"""Draining the engine's changes for the store, and replaying the store into an engine.

A part of ``engine.Engine`` (its state is declared there): the writer drains
what each batch changed (``take_*``) and, at start or after a failed commit,
rebuilds the engine by replaying the store's records (``replay_*``), so the
store is the truth and the engine a cache that is never allowed to drift.
"""

from __future__ import annotations

import heapq
from typing import Any

from mkoba.ledger.account import Account, AccountState
from mkoba.ledger.records import Changes, FailureRecord, PendingState, PendingStatus
from mkoba.ledger.results import TransferResult
from mkoba.ledger.transfer import TransferFlags, TransferRecord

_PENDING = TransferFlags.PENDING.value
_POST = TransferFlags.POST_PENDING.value
_VOID = TransferFlags.VOID_PENDING.value
_EXPIRY = TransferFlags.EXPIRY.value
_RESOLVING = _POST | _VOID


class Replay:
    """Draining and replaying, as a part of the engine."""

    accounts: dict[int, AccountState]
    transfer_ids: dict[int, tuple[Any, ...]]
    failed_ids: dict[int, tuple[TransferResult, tuple[Any, ...]]]
    pendings: dict[int, PendingState]
    _expiries: list[tuple[int, int]]
    timestamp: int
    _changes: Changes

    def _release(self, record: TransferRecord, pending: PendingState, status: int) -> None:
        raise NotImplementedError

    def take_changes(self) -> Changes:
        """What changed since the last call, handed over to be committed."""
        changes = self._changes
        self._changes = Changes([], [], [], [])
        return changes

    def take_dirty_balances(self) -> list[tuple[int, int, int, int, int]]:
        """(id, debits_pending, debits_posted, credits_pending, credits_posted) of changed accounts.

        A scan of every account: cheaper, at checkpoint intervals, than tracking a
        set of dirty ids on every transfer.
        """
        rows = []
        for account_id, state in self.accounts.items():
            if state.dirty:
                state.dirty = False
                rows.append(
                    (
                        account_id,
                        state.debits_pending,
                        state.debits_posted,
                        state.credits_pending,
                        state.credits_posted,
                    )
                )
        return rows

    def replay_account(self, account: Account, flags: int) -> None:
        """Rebuild one account as the store holds it (balances come from replaying records)."""
        assert account.id not in self.accounts, account.id
        state = AccountState(account)
        state.set_flags(flags)
        self.accounts[account.id] = state

    def replay_record(self, record: TransferRecord) -> None:
        """Re-apply one stored record, exactly as it was first applied."""
        assert record.timestamp > self.timestamp, "records replay in timestamp order"
        self.timestamp = record.timestamp
        flags = record.flags
        if flags & (_RESOLVING | _EXPIRY):
            pending = self.pendings[record.pending_id]
            assert pending.status == PendingStatus.PENDING, record
            status = (
                PendingStatus.POSTED
                if flags & _POST
                else PendingStatus.VOIDED
                if flags & _VOID
                else PendingStatus.EXPIRED
            )
            self._release(record, pending, status)
        else:
            debit = self.accounts[record.debit_account_id]
            credit = self.accounts[record.credit_account_id]
            if flags & _PENDING:
                debit.debits_pending += record.amount
                credit.credits_pending += record.amount
                pending = PendingState(record)
                assert record.id is not None
                self.pendings[record.id] = pending
                if pending.expires_at:
                    heapq.heappush(self._expiries, (pending.expires_at, record.id))
            else:
                debit.debits_posted += record.amount
                credit.credits_posted += record.amount
            debit.dirty = credit.dirty = True
        if record.id is not None:
            assert record.id not in self.transfer_ids, record.id
            self.transfer_ids[record.id] = record[1:]

    def replay_failure(self, failure: FailureRecord) -> None:
        """Re-pin one stored failure to its id."""
        assert failure.id not in self.failed_ids, failure.id
        self.timestamp = max(self.timestamp, failure.timestamp)
        self.failed_ids[failure.id] = (
            TransferResult(failure.result),
            (failure.id, *failure[3:]),
        )
