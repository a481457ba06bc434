"""After a restart: the requests a stop left waiting for delivery, read back from the store.

Each pending request becomes a ``Rollback`` (its receipt, legs, payer and usage)
and, when phase one stored its settlement (``settlement.py``), an ``Awaiting``
that can still post it: ``Deliveries.recover`` waits again for its
acknowledgement until the same deadline as before the stop. A request with no
stored settlement (phase one from before settlements were kept, or a plan with an
external effect) or with one that does not read back can only be rolled back.
"""

from __future__ import annotations

import json
import logging
from typing import NamedTuple

from mkoba.codes import Code
from mkoba.ledger import Store
from mkoba.parties import SecretKey
from mkoba.processor.commit import Awaiting, Rollback
from mkoba.processor.request import Response
from mkoba.processor.settlement import SettlementError, decode

log = logging.getLogger("mkoba.processor.recovery")

_PENDING = (
    "SELECT r.number, r.id, r.response, c.receipt, c.legs, c.payer_id, c.usage, r.created,"
    " s.msisdn, s.deadline, s.body"
    " FROM requests AS r JOIN receipts AS c ON c.number = r.number"
    " LEFT JOIN pending_settlements AS s ON s.number = r.number"
    " WHERE r.status = 'pending'"
)


class Left(NamedTuple):
    """A request a stop left pending: how to roll it back, and how to post it if it may be."""

    rollback: Rollback
    # None: it can only be rolled back (nothing stored to post it with, or unreadable).
    awaiting: Awaiting | None


def left_pending(store: Store, key: SecretKey, request_id: str | None = None) -> list[Left]:
    """Every pending request, oldest first, or only ``request_id`` if it is pending
    (``key`` opens secret notes' values)."""
    found = []
    if request_id is None:
        rows = store.query(_PENDING + " ORDER BY r.number")
    else:
        rows = store.query(_PENDING + " AND r.id = ?", (request_id,))
    for row in rows:
        number, request_id, stored, receipt, legs, payer_id, usage = row[:7]
        created, msisdn, deadline, body = row[7:]
        rollback = Rollback(
            str(request_id),
            int(number),
            str(receipt),
            len(json.loads(legs)),
            int(payer_id),
            int(usage),
            int(created),
            kept=body is not None,
        )
        awaiting = None
        if body:
            awaiting = _awaiting(rollback, str(msisdn), int(deadline), str(body), str(stored), key)
        found.append(Left(rollback, awaiting))
    assert all(left.rollback.number > 0 for left in found)
    return found


def _awaiting(
    rollback: Rollback, msisdn: str, deadline: int, body: str, stored: str, key: SecretKey
) -> Awaiting | None:
    """The waiting request as phase one left it; None (and an error logged) if unreadable."""
    try:
        settlement = decode(body, key, rollback.number)
        response = Response.from_json(stored)
    except (SettlementError, ValueError, KeyError) as error:
        # Refused, never guessed at: such a request can only be rolled back.
        log.error(
            "pending request %d cannot be posted after the restart: %s", rollback.number, error
        )
        return None
    # A success waiting for its delivery, or a payment the risk rules held.
    accepted = response.ok or response.code is Code.HELD_FOR_REVIEW
    if not accepted or response.request_id != rollback.request_id:
        log.error(
            "pending request %d has a stored response that is not its success", rollback.number
        )
        return None
    return Awaiting(rollback, msisdn, response, deadline, settlement, stored)
