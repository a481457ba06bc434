"""Outcomes of ledger operations: values, not exceptions.

``EXISTS`` means the same id was already applied with the same fields: handle it
exactly as ``OK``. A failure that depends on the ledger's state (funds, limits,
pending status, closed or missing accounts) is pinned to its id, so a retry with
the same id gets the same answer and never moves money later by surprise.
"""

from __future__ import annotations

import enum


class TransferResult(enum.IntEnum):
    """The outcome of one transfer."""

    OK = 0
    EXISTS = 1
    # Input that can never succeed.
    LINKED_EVENT_FAILED = 2
    LINKED_EVENT_CHAIN_OPEN = 3
    ID_INVALID = 10
    DEBIT_ACCOUNT_ID_INVALID = 11
    CREDIT_ACCOUNT_ID_INVALID = 12
    ACCOUNTS_MUST_BE_DIFFERENT = 13
    AMOUNT_NOT_INTEGER = 14
    AMOUNT_MUST_BE_POSITIVE = 15
    AMOUNT_TOO_LARGE = 16
    LEDGER_INVALID = 17
    CODE_INVALID = 18
    USER_DATA_INVALID = 19
    FLAGS_INVALID = 20
    PENDING_ID_INVALID = 21
    PENDING_ID_MUST_BE_ZERO = 22
    TIMEOUT_INVALID = 23
    TIMEOUT_RESERVED_FOR_PENDING = 24
    # The same id was used before with different fields.
    EXISTS_WITH_DIFFERENT_FIELDS = 30
    ID_ALREADY_FAILED = 31
    # Depend on the ledger's state, and so are pinned to the id.
    DEBIT_ACCOUNT_NOT_FOUND = 40
    CREDIT_ACCOUNT_NOT_FOUND = 41
    LEDGER_MISMATCH = 42
    CURRENCY_MISMATCH = 43
    DEBIT_ACCOUNT_CLOSED = 44
    CREDIT_ACCOUNT_CLOSED = 45
    EXCEEDS_CREDITS = 46
    EXCEEDS_DEBITS = 47
    EXCEEDS_BALANCE_MAX = 48
    OVERFLOWS_BALANCE = 49
    PENDING_TRANSFER_NOT_FOUND = 50
    PENDING_TRANSFER_NOT_PENDING = 51
    PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS = 52
    PENDING_TRANSFER_HAS_DIFFERENT_LEDGER = 53
    PENDING_TRANSFER_ALREADY_POSTED = 54
    PENDING_TRANSFER_ALREADY_VOIDED = 55
    PENDING_TRANSFER_EXPIRED = 56
    EXCEEDS_PENDING_TRANSFER_AMOUNT = 57
    PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT = 58

    @property
    def ok(self) -> bool:
        """True for OK and EXISTS: the transfer is in the ledger exactly once."""
        return self <= TransferResult.EXISTS

    @property
    def pinned(self) -> bool:
        """True when this failure is recorded against the id for good."""
        return self >= TransferResult.DEBIT_ACCOUNT_NOT_FOUND


class AccountResult(enum.IntEnum):
    """The outcome of creating, closing or reopening one account."""

    OK = 0
    EXISTS = 1
    ID_INVALID = 10
    LEDGER_INVALID = 11
    CURRENCY_UNKNOWN = 12
    KIND_INVALID = 13
    FLAGS_INVALID = 14
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = 15
    OVERDRAFT_LIMIT_INVALID = 16
    BALANCE_MAX_INVALID = 17
    BALANCE_MAX_NEEDS_A_CONSTRAINT = 18
    CODE_INVALID = 19
    USER_DATA_INVALID = 20
    EXISTS_WITH_DIFFERENT_FIELDS = 30
    NOT_FOUND = 40
    ALREADY_CLOSED = 41
    NOT_CLOSED = 42

    @property
    def ok(self) -> bool:
        """True for OK and EXISTS."""
        return self <= AccountResult.EXISTS
