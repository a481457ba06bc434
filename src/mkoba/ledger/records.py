"""What the ledger engine keeps besides accounts: pending reservations, pinned failures, changes."""

from __future__ import annotations

from typing import Any, NamedTuple

from mkoba.ledger.account import Account
from mkoba.ledger.transfer import TransferRecord

_NS_PER_S = 1_000_000_000


class PendingStatus:
    """Where a pending transfer stands; kept for resolved ones too, to answer late posts."""

    PENDING = 0
    POSTED = 1
    VOIDED = 2
    EXPIRED = 3


class PendingState:
    """A pending transfer and its status."""

    __slots__ = ("record", "status", "expires_at")

    def __init__(self, record: TransferRecord, status: int = PendingStatus.PENDING) -> None:
        self.record = record
        self.status = status
        timeout_s = record.timeout_s
        self.expires_at = record.timestamp + timeout_s * _NS_PER_S if timeout_s else 0


class FailureRecord(NamedTuple):
    """A failure pinned to its id: the canonical fields that failed, and why."""

    timestamp: int
    id: int
    result: int
    debit_account_id: int
    credit_account_id: int
    amount: int
    ledger: int
    code: int
    flags: int
    pending_id: int
    timeout_s: int
    user_data: int


class Changes(NamedTuple):
    """What the engine changed since the last drain, for the store to commit.

    ``records`` are tuples in ``TransferRecord`` field order (the fast path skips
    building the named tuple); use ``TransferRecord._make`` for field access.
    """

    accounts: list[Account]
    account_flags: list[tuple[int, int]]
    records: list[tuple[Any, ...]]
    failures: list[FailureRecord]
