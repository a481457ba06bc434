"""Dormant wallets: the party state a customer's wallet takes after a long quiet.

A customer wallet with no customer-initiated transaction for the profile's dormancy
days (``risk.R8.dormant_days``) is dormant; the customer's next allowed payment makes
it active again. The risk rules decide when (``risk/dormancy.py``); the parties
package owns the state, so the changes are made here, as ``Change``s the caller
commits through the ledger writer and then applies to the directory. Each one leaves
an ``audit_log`` row (``wallet_dormant``, ``wallet_reactivated``) saying when and why.

Dormancy is a status, not a block (``Party.active``): a dormant wallet still pays and
is paid. Only an active customer wallet becomes dormant; a frozen or closed one keeps
its state, and only a dormant one is reactivated.
"""

from __future__ import annotations

from collections.abc import Iterable

from mkoba.parties.directory import OPERATOR_ID, Change
from mkoba.parties.model import Party, PartyKind, PartyState

DORMANT_ACTION = "wallet_dormant"
REACTIVATED_ACTION = "wallet_reactivated"


def may_fall_dormant(party: Party) -> bool:
    """Whether ``party`` is an active customer wallet (the only kind that falls dormant)."""
    return party.kind == PartyKind.CUSTOMER and party.state == PartyState.ACTIVE


def dormant_change(parties: Iterable[tuple[Party, int]], now: int) -> Change | None:
    """Mark dormant each ``(party, last)`` (``last``: its last customer-initiated
    transaction, ns; 0 none, the wallet's opening counts); None when none may be."""
    marked = [(party, last) for party, last in parties if may_fall_dormant(party)]
    if not marked:
        return None
    assert all(last <= now for _, last in marked)
    return Change(
        parties=tuple(party._replace(state=PartyState.DORMANT) for party, _ in marked),
        audit=tuple(
            (now, OPERATOR_ID, DORMANT_ACTION, party.id, {"last": last or party.created})
            for party, last in marked
        ),
    )


def reactivated_change(party: Party, request_id: str, now: int) -> Change | None:
    """Make a dormant wallet active again, for the customer's allowed ``request_id``
    (committed with it); None when the wallet is not dormant."""
    if party.state != PartyState.DORMANT:
        return None
    assert party.kind == PartyKind.CUSTOMER
    return Change(
        parties=(party._replace(state=PartyState.ACTIVE),),
        audit=((now, OPERATOR_ID, REACTIVATED_ACTION, party.id, {"request_id": request_id}),),
    )
