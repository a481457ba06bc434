"""Paying a payment code: who the payee is, what the payer's app shows, and the payment.

The payee's name comes from the directory, never from the code (a static code
anyone can print names any name); the amount of a dynamic code is the one the
validation server issued, which the payer cannot change. A dynamic code's token is
taken for the payment before TranProc is asked, and given back if TranProc refuses
(a wrong PIN must not burn the code), so a code is paid at most once.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from mkoba.channels.app.keqr import PayeeKind, PaymentCode
from mkoba.channels.app.notices import Board
from mkoba.channels.app.validation import AppRefused, Device, Validator
from mkoba.parties import Party, PartyKind
from mkoba.ports import Ports
from mkoba.processor.request import Response

# The directory kind a code's payee number is looked up as, and the product paying it.
_KINDS = {
    PayeeKind.BUY_GOODS: (PartyKind.MERCHANT, "buy_goods"),
    PayeeKind.PAYBILL: (PartyKind.ORGANISATION, "pay_bill"),
}


class Shown(NamedTuple):
    """What the payer's app shows before the PIN."""

    code: PaymentCode
    payee: Party

    def body(self) -> dict[str, Any]:
        """The JSON the app reads."""
        code = self.code
        return {
            "payee": {
                "name": self.payee.name.upper(),
                "number": code.payee.number,
                "kind": code.payee.kind.value,
            },
            "amount": code.amount_minor,
            "reference": code.reference or "",
            # Unix seconds, as ``POST /codes`` gives it.
            "expires": None if code.expires_at is None else int(code.expires_at.timestamp()),
            "dynamic": code.dynamic,
        }


def payee_of(ports: Ports, code: PaymentCode) -> Party:
    """The registered, active party a code pays; ``AppRefused`` when there is none."""
    directory = ports.directory()
    if code.payee.kind is PayeeKind.SEND_MONEY:
        party = directory.by_msisdn(code.payee.number)
    else:
        kind, _ = _KINDS[code.payee.kind]
        party = directory.by_number(kind, code.payee.number)
    if party is None or not party.active:
        raise AppRefused("qr_unknown_payee", "Nobody can be paid with this code.")
    return party


def product_of(code: PaymentCode, amount: int) -> tuple[str, dict[str, str]]:
    """The product that pays ``code`` and its parameters."""
    if code.payee.kind is PayeeKind.SEND_MONEY:
        return "send_money", {"to": code.payee.number, "amount_minor": str(amount)}
    if code.payee.kind is PayeeKind.PAYBILL:
        params = {"paybill": code.payee.number, "amount_minor": str(amount)}
        params["account"] = code.reference or code.payee.number
        return "pay_bill", params
    return "buy_goods", {"till": code.payee.number, "amount_minor": str(amount)}


def amount_of(code: PaymentCode, typed: int | None) -> int:
    """The amount to pay: the code's own (dynamic), or the one the payer typed (static)."""
    if code.amount_minor is not None:
        if typed is not None and typed != code.amount_minor:
            raise AppRefused(
                "qr_amount_fixed", "This code's amount is fixed: it cannot be changed."
            )
        return code.amount_minor
    if typed is None:
        raise AppRefused("amount_missing", "Type the amount to pay.")
    return typed


def told(
    notices: Board,
    payer: Device,
    payee: Party,
    code: PaymentCode,
    response: Response,
    amount: int,
    payer_name: str,
) -> None:
    """Tell both phones a payment completed (the payee's, when it is a person's)."""
    base = {
        "amount": amount,
        "receipt": response.receipt or "",
        "reference": code.reference or "",
        "token": code.token or "",
    }
    notices.publish(
        payer.msisdn, "payment", {**base, "direction": "out", "other": payee.name.upper()}
    )
    if payee.msisdn is not None:
        notices.publish(payee.msisdn, "payment", {**base, "direction": "in", "other": payer_name})


async def take(validator: Validator, payload: str, payer: Device, request_id: str) -> PaymentCode:
    """Check a code and, for a dynamic one, take its token for ``request_id``."""
    return await validator.reserve(payload, payer, request_id)
