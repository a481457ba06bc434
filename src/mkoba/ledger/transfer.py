"""Transfers: immutable records that debit one account and credit another."""

from __future__ import annotations

import enum
from typing import NamedTuple


class TransferFlags(enum.IntFlag):
    """How a transfer behaves. ``EXPIRY`` is written only by the ledger itself."""

    NONE = 0
    # This transfer and the next one succeed or fail together (a chain ends at
    # the first transfer without LINKED).
    LINKED = 1
    # Reserve the amount: it counts against the balance but has not moved yet.
    PENDING = 2
    # Move a pending transfer's amount, in full or in part (``pending_id``).
    POST_PENDING = 4
    # Release a pending transfer's reservation (``pending_id``).
    VOID_PENDING = 8
    # The ledger voided a pending transfer whose timeout passed.
    EXPIRY = 16


# A post with this amount moves the whole pending amount.
AMOUNT_PENDING_FULL = 0


class Transfer(NamedTuple):
    """What a client asks the ledger to do; the ledger adds the timestamp.

    ``id`` is the idempotency key: submitting the same id again with the same
    fields returns ``EXISTS`` (or the original failure), with other fields an
    error. For a post or void, the accounts, ledger and code may be left 0 to
    take the pending transfer's; ``amount`` 0 posts the full pending amount.
    ``timeout_s`` (pending only) is how long the reservation lasts; 0 means
    it never expires.
    """

    id: int
    debit_account_id: int
    credit_account_id: int
    amount: int
    ledger: int
    code: int = 0
    flags: int = 0
    pending_id: int = 0
    timeout_s: int = 0
    user_data: int = 0


class TransferRecord(NamedTuple):
    """A transfer as the ledger stored it: accounts and amounts resolved, timestamped.

    ``id`` is None only for the ledger's own expiry records. For a post, ``amount``
    is the amount moved; for a void or expiry, the amount released.
    """

    timestamp: int
    id: int | None
    debit_account_id: int
    credit_account_id: int
    amount: int
    ledger: int
    code: int
    flags: int
    pending_id: int
    timeout_s: int
    user_data: int


def reversal_of(original: Transfer | TransferRecord, id: int, amount: int = 0) -> Transfer:
    """A new transfer that moves ``original``'s money back, linked to it by ``user_data``.

    History is append-only: a reversal or correction is a transfer of its own,
    never an edit. ``amount`` 0 reverses the whole original amount.
    """
    assert original.id is not None, "expiry records cannot be reversed"
    return Transfer(
        id=id,
        debit_account_id=original.credit_account_id,
        credit_account_id=original.debit_account_id,
        amount=amount or original.amount,
        ledger=original.ledger,
        code=original.code,
        user_data=original.id,
    )
