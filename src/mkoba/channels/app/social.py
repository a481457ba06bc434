"""Request money, split a bill, gift vouchers: the app's routes for TranProc's products.

Each route reads its body (amounts in minor units), names the product and its
parameters, and answers TranProc's message and data; TranProc decides everything
(who may be asked, the shares, the codes) and texts the other phones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.responses import JSONResponse
from starlette.responses import Response as HttpResponse

from mkoba.channels.app import answers, bodies
from mkoba.processor.request import Response

if TYPE_CHECKING:
    from mkoba.channels.app.channel import AppChannel
    from mkoba.channels.app.routes import Call


async def _answer(
    channel: AppChannel, call: Call, product: str, params: dict[str, str], pin: str
) -> HttpResponse:
    return _reply(await channel.ask(call, product, params, pin))


def _reply(response: Response) -> HttpResponse:
    if not response.ok:
        return answers.from_tranproc(response)
    body = {"code": "ok", "message": response.message, "receipt": response.receipt}
    return JSONResponse({**body, "data": response.data})


async def request_money(channel: AppChannel, call: Call) -> HttpResponse:
    """Ask a phone for money (the tutor after a lesson); the payer's app hears of it live."""
    body = bodies.read(bodies.RequestBody, call.raw)
    params = {"payer": body.payer, "amount_minor": str(body.amount), "note": body.note}
    response = await channel.ask(call, "request_money", params, body.pin)
    payer = response.data.get("payer") if response.ok else None
    if payer:
        requester = channel.ports.party(call.device.msisdn)
        notice = {
            "kind": "request",
            "number": str(response.data.get("number", "")),
            "amount": body.amount,
            "note": body.note,
            "other": "" if requester is None else requester.name.upper(),
        }
        channel.notices.publish(str(payer), "request", notice)
    return _reply(response)


async def pay_request(channel: AppChannel, call: Call) -> HttpResponse:
    """Pay a request made of this phone."""
    body = bodies.read(bodies.RequestNumberBody, call.raw)
    return await _answer(channel, call, "pay_request", {"number": body.number}, body.pin)


async def decline_request(channel: AppChannel, call: Call) -> HttpResponse:
    """Decline a request made of this phone."""
    body = bodies.read(bodies.RequestNumberBody, call.raw)
    return await _answer(channel, call, "decline_request", {"number": body.number}, body.pin)


async def my_requests(channel: AppChannel, call: Call) -> HttpResponse:
    """The requests to and from this phone, and its bills."""
    body = bodies.read(bodies.PinBody, call.raw)
    return await _answer(channel, call, "my_requests", {}, body.pin)


async def split_bill(channel: AppChannel, call: Call) -> HttpResponse:
    """Split a bill among friends; each gets a request and reminders until paid."""
    body = bodies.read(bodies.BillBody, call.raw)
    if body.shares and len(body.shares) != len(body.friends):
        raise bodies.BadBody("shares: one share for each friend, or none")
    params = {"friends": ",".join(body.friends), "total_minor": str(body.total), "note": body.note}
    if body.shares:
        params["shares"] = ",".join(_major(channel, share) for share in body.shares)
    return await _answer(channel, call, "split_bill", params, body.pin)


async def bill_status(channel: AppChannel, call: Call) -> HttpResponse:
    """Who has paid a bill this phone split."""
    body = bodies.read(bodies.BillNumberBody, call.raw)
    return await _answer(channel, call, "bill_status", {"bill": body.bill}, body.pin)


async def buy_gift(channel: AppChannel, call: Call) -> HttpResponse:
    """Buy a gift voucher for any phone; the recipient gets its code by SMS."""
    body = bodies.read(bodies.GiftBody, call.raw)
    params = {"to": body.to, "amount_minor": str(body.amount)}
    return await _answer(channel, call, "buy_gift", params, body.pin)


async def use_gift(channel: AppChannel, call: Call) -> HttpResponse:
    """A gift sent to this phone: into the wallet, or paying a till (``till`` given)."""
    body = bodies.read(bodies.GiftCodeBody, call.raw)
    if body.till:
        params = {"code": body.code, "till": body.till}
        return await _answer(channel, call, "redeem_gift", params, body.pin)
    return await _answer(channel, call, "cash_gift", {"code": body.code}, body.pin)


def _major(channel: AppChannel, minor: int) -> str:
    """Minor units as the major-unit text TranProc's shares field reads (``150.00``)."""
    digits = channel.ports.profile().currency.scale
    whole, part = divmod(minor, 10**digits)
    return f"{whole}.{part:0{digits}d}" if digits else str(whole)
