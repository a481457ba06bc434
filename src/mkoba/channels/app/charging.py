"""Pay by code (customer-presented): the app's routes for the payer's pay code and charges.

The payer shows a pay code (``POST /paycodes``); the payee charges it with an
amount (``POST /paycodes/charge``); the payer's phone hears of the charge live
(``event: charge``) and confirms it with the PIN (``POST /charges/confirm``: a
send-money to the payee's number, which TranProc decides) or declines it. The
validation server (``validation.charges``) owns the codes, charges and tries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi.responses import JSONResponse
from pydantic import Field, StrictStr
from starlette.responses import Response as HttpResponse

from mkoba.channels.app import answers, bodies, render
from mkoba.channels.app.validation.charge_rows import ChargeRow
from mkoba.channels.app.validation.charges import paycode_digits

if TYPE_CHECKING:
    from mkoba.channels.app.channel import AppChannel
    from mkoba.channels.app.routes import Call

# What a pay code's QR says: the digits behind a scheme a scanner can tell from others.
QR_PREFIX = "mkoba:pay:"
_NS = 1_000_000_000

ChargeId = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class ChargeBody(bodies.AppBody):
    """Charge a payer's pay code: its digits, the amount, a reference."""

    code: Annotated[StrictStr, Field(pattern=rf"^[0-9]{{{paycode_digits}}}$")]
    amount: bodies.Minor
    reference: Annotated[bodies.Text, Field(max_length=bodies.reference_chars_max)] = ""


class ConfirmChargeBody(bodies.AppBody):
    """Confirm a charge with the PIN."""

    charge: ChargeId
    pin: bodies.PinText


class ChargeIdBody(bodies.AppBody):
    """Decline a charge, or ask where it stands."""

    charge: ChargeId


def _name(channel: AppChannel, msisdn: str) -> str:
    party = channel.ports.party(msisdn)
    return "" if party is None else party.name.upper()


def _read(body_type: type[bodies.BodyT], raw: bytes) -> bodies.BodyT:
    try:
        return bodies.read(body_type, raw)
    except bodies.BadBody as bad:
        if str(bad).startswith("code:"):  # never repeat what was typed
            raise bodies.BadBody(f"code: {paycode_digits} digits") from None
        raise


async def show_paycode(channel: AppChannel, call: Call) -> HttpResponse:
    """A pay code for the payer's app to show (digits and QR)."""
    bodies.read(bodies.EmptyBody, call.raw)
    digits, expires = await channel.validator.charges.issue(call.device)
    payload = QR_PREFIX + digits
    return JSONResponse(
        {
            "code": digits,
            "payload": payload,
            "svg": render.svg(payload, on_screen=True),
            "expires": expires // _NS,
        },
        status_code=201,
    )


async def charge(channel: AppChannel, call: Call) -> HttpResponse:
    """The payee charges a pay code; the payer's phone is asked to confirm."""
    body = _read(ChargeBody, call.raw)
    made = await channel.validator.charges.charge(
        call.device, body.code, body.amount, body.reference
    )
    channel.notices.publish(
        made.payer_msisdn,
        "charge",
        {
            "charge": made.id,
            "payee": _name(channel, made.payee_msisdn),
            "amount": made.amount,
            "reference": made.reference,
            "expires": made.expires // _NS,
        },
    )
    return JSONResponse(_state(made, "pending"), status_code=202)


async def confirm(channel: AppChannel, call: Call) -> HttpResponse:
    """The payer confirms a charge with the PIN: a send-money to the payee, once."""
    body = _read(ConfirmChargeBody, call.raw)
    charges = channel.validator.charges
    taken = await charges.take(call.device, body.charge, call.request_id)
    params = {"to": taken.payee_msisdn, "amount_minor": str(taken.amount)}
    receipt = None
    try:
        response = await channel.ask(call, "send_money", params, body.pin)
        if response.ok:
            receipt = response.receipt or ""
    finally:
        done = await charges.settle(taken.id, call.request_id, receipt)
    if not response.ok:
        return answers.from_tranproc(response)
    payee = _name(channel, done.payee_msisdn)
    base = {
        "amount": done.amount,
        "receipt": done.receipt,
        "reference": done.reference,
        "charge": done.id,
    }
    channel.notices.publish(
        done.payer_msisdn, "payment", {**base, "direction": "out", "other": payee}
    )
    payer = _name(channel, done.payer_msisdn)
    channel.notices.publish(
        done.payee_msisdn, "payment", {**base, "direction": "in", "other": payer}
    )
    return JSONResponse(
        {"code": "ok", **_state(done, "paid"), "message": response.message, "payee": payee}
    )


async def decline(channel: AppChannel, call: Call) -> HttpResponse:
    """The payer declines a charge."""
    body = _read(ChargeIdBody, call.raw)
    done = await channel.validator.charges.decline(call.device, body.charge)
    return JSONResponse(_state(done, "declined"))


async def status(channel: AppChannel, call: Call) -> HttpResponse:
    """Where a charge stands (for the payee, or the payer)."""
    body = _read(ChargeIdBody, call.raw)
    row, state = await channel.validator.charges.status(call.device, body.charge)
    return JSONResponse(_state(row, state))


def _state(row: ChargeRow, state: str) -> dict[str, object]:
    return {
        "charge": row.id,
        "state": state,
        "amount": row.amount,
        "reference": row.reference,
        "receipt": row.receipt,
        "expires": row.expires // _NS,
    }
