"""The reversal book: requests to reverse a transfer, the hold on the money, staff decisions.

A request holds the amount with a pending ledger transfer from the recipient's
wallet back to the payer's, so the recipient cannot spend it while staff
decide; approving posts the hold, rejecting voids it, and a hold nobody
decided lapses by itself when the profile's reversal window ends. One row per
original receipt: a transaction is reversed (or refused) once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import NamedTuple

from mkoba.ledger import Store, Write, WriteMode
from mkoba.ports import HeldReversal
from mkoba.processor import history

SCHEMA = """
CREATE TABLE IF NOT EXISTS reversals (
    receipt TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    payer_id BIGINT NOT NULL,
    payee_id BIGINT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    held_account BIGINT NOT NULL,
    refund_account BIGINT NOT NULL,
    hold_number BIGINT NOT NULL,
    hold_id BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    state TEXT NOT NULL,
    decided_by BIGINT NOT NULL,
    decision_request TEXT NOT NULL,
    reversal_receipt TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS reversals_state ON reversals (state, created);
"""

HELD = "held"
APPROVED = "approved"
REJECTED = "rejected"
LAPSED = "lapsed"


class Reversal(NamedTuple):
    """A reversal request as the book holds it."""

    receipt: str
    request_id: str
    payer_id: int
    payee_id: int
    amount: int
    # The recipient's wallet (held) and the payer's (refunded).
    held_account: int
    refund_account: int
    # The hold is leg 0 of request number ``hold_number``: ledger id ``hold_id``.
    hold_number: int
    hold_id: int
    expires: int
    state: str
    decided_by: int
    decision_request: str
    reversal_receipt: str
    created: int
    updated: int


_COLUMNS = Reversal._fields


class Original(NamedTuple):
    """The transaction a customer wants reversed, from its receipt."""

    receipt: str
    product: str
    status: str
    payer_id: int
    payee_id: int
    amount: int
    # The accounts of the amount's leg: (debited, credited).
    source: int
    target: int
    created: int


_TEXT = frozenset({"receipt", "request_id", "state", "decision_request", "reversal_receipt"})


def _reversal(row: tuple[object, ...]) -> Reversal:
    values = [
        str(value) if name in _TEXT else int(str(value))
        for name, value in zip(_COLUMNS, row, strict=True)
    ]
    return Reversal._make(values)


async def get(store: Store, receipt: str) -> Reversal | None:
    """The reversal request of an original receipt, if any."""
    rows = await asyncio.to_thread(
        store.query, f"SELECT {', '.join(_COLUMNS)} FROM reversals WHERE receipt = ?", (receipt,)
    )
    return _reversal(rows[0]) if rows else None


async def in_state(store: Store, state: str, limit: int) -> list[Reversal]:
    """The oldest ``limit`` reversal requests in ``state`` (the staff's queue: held ones)."""
    rows = await asyncio.to_thread(
        store.query,
        f"SELECT {', '.join(_COLUMNS)} FROM reversals WHERE state = ? ORDER BY created LIMIT ?",
        (state, limit),
    )
    return [_reversal(row) for row in rows]


class Queue:
    """The book as the operator console reads it (``ports.Reversals``)."""

    def __init__(self, store: Callable[[], Store]) -> None:
        self.store = store

    async def get(self, receipt: str) -> HeldReversal | None:
        """The reversal request of an original receipt, or None."""
        found = await get(self.store(), receipt)
        return _held(found) if found is not None else None

    async def held(self, limit: int) -> list[HeldReversal]:
        """The oldest requests still held."""
        return [_held(found) for found in await in_state(self.store(), HELD, limit)]


def _held(found: Reversal) -> HeldReversal:
    return HeldReversal(
        found.receipt,
        found.payer_id,
        found.payee_id,
        found.amount,
        found.state,
        found.expires,
        found.created,
    )


async def original(store: Store, receipt: str) -> Original | None:
    """The receipt of a completed-or-not transaction, with the accounts of its amount's leg."""
    found = await asyncio.to_thread(history.receipt, store, receipt)
    if found is None:
        return None
    first = json.loads(found.legs)[0]
    return Original(
        found.receipt,
        found.product,
        found.status,
        found.payer_id,
        found.payee_id,
        found.amount,
        int(first[0]),
        int(first[1]),
        found.created,
    )


def held_row(reversal: Reversal) -> Write:
    """A new request, its money on hold (an upsert: a failed write must never stop the writer)."""
    return Write("reversals", _COLUMNS, tuple(reversal), ("receipt",), WriteMode.UPSERT)


def decided_row(
    receipt: str, state: str, staff_id: int, request_id: str, reversal_receipt: str, now: int
) -> Write:
    """A request's outcome: who decided, by which request, the reversal's own receipt."""
    return Write(
        "reversals",
        ("receipt", "state", "decided_by", "decision_request", "reversal_receipt", "updated"),
        (receipt, state, staff_id, request_id, reversal_receipt, now),
        ("receipt",),
        WriteMode.UPDATE,
    )
