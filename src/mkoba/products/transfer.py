"""One shape for every two-party payment: payer's account to payee's, fee, texts.

Send money, withdraw, deposit, buy goods, pay bill and the business payouts all
move an amount from one party's account to another's, take a fee (with its
excise) from the payer's account, may pay an agent commission, write one
statement line for each side and tell each side. Each product states only its
parties, its tariff and its texts; :func:`two_party` builds the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mkoba.codes import Code
from mkoba.parties import Party, PartyKind
from mkoba.processor.context import Context
from mkoba.processor.events import BusinessPayment
from mkoba.processor.plan import Leg, Line, Note, Plan, Refused
from mkoba.products.common import fee_legs


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a payment: who, which account, its statement text and message."""

    party: Party
    account: int
    text: str
    # The message template to send this side ("" sends none) and its values.
    template: str = ""
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Charges:
    """What the payment costs: fees by who bears them, excise, the agent's commission legs.

    ``withheld`` is the part of the fees taken out of the amount on its way to the
    payee (a merchant's fee); the payer pays the rest on top of the amount.
    """

    fee: int = 0
    business_fee: int = 0
    withheld: int = 0
    excise: int = 0
    commission: int = 0
    commission_legs: tuple[Leg, ...] = ()


NO_CHARGES = Charges()


def two_party(
    product: str,
    payer: Side,
    payee: Side,
    amount: int,
    *,
    charges: Charges = NO_CHARGES,
    reference: str = "",
    message: str = "",
    data: dict[str, Any],
    usage: int = 0,
    short: Code = Code.INSUFFICIENT_FUNDS,
    payee_first: bool = False,
    event: BusinessPayment | None = None,
) -> Plan:
    """The plan: the amount less what is withheld to the payee, every fee leg from the payer.

    ``payee_first`` lists the payee's line and message first (a deposit tells the
    customer before the agent).
    """
    fee = charges.fee + charges.business_fee
    net = amount - charges.withheld
    assert 0 <= charges.withheld <= fee and net >= 0
    source, target = payer.account, payee.account
    legs = (
        *([Leg(source, target, net, short=short)] if net else []),
        *fee_legs(source, fee, charges.excise),
        *charges.commission_legs,
    )
    lines = (
        Line(payer.party.id, source, payer.text, -(amount + fee - charges.withheld)),
        Line(payee.party.id, target, payee.text, net),
    )
    notes = tuple(
        Note(
            side.party.msisdn or "",
            side.party.language,
            side.template,
            dict(side.values),
            side.account,
        )
        for side in (payer, payee)
        if side.template
    )
    if payee_first:
        lines = lines[::-1]
        notes = notes[::-1]
    return Plan(
        product=product,
        payer_id=payer.party.id,
        payee_id=payee.party.id,
        amount=amount,
        legs=legs,
        fee=charges.fee,
        business_fee=charges.business_fee,
        excise=charges.excise,
        commission=charges.commission,
        reference=reference,
        notes=notes,
        event=event,
        lines=lines,
        usage=usage,
        balance_of=source,
        message=message,
        data=data,
    )


def collector(ctx: Context, kind: PartyKind, number: str, unknown: Code, what: str) -> Party:
    """The active till or paybill a customer pays, by its number (``what`` names it)."""
    party = ctx.directory.by_number(kind, number)
    if party is None:
        raise Refused(unknown)
    if not party.active:
        raise Refused(Code.ACCOUNT_INACTIVE, f"{what} cannot take payments now")
    return party
