"""C2B: register a shortcode's validation and confirmation URLs (v1, v2), and simulate a payment.

Register answers with both spellings of the originator key (Daraja's own
``OriginatorCoversationID`` and the correct one mpesakit requires). In sandbox
mode URLs may be registered again; otherwise once, as in production.

Simulate exists only in sandbox mode: it is the customer paying from the
phone menu, made by the sandbox acting for a test customer (sandbox.py). The
payment runs through TranProc like any other: validation, money, confirmation.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request as HttpRequest

from mkoba.channels.daraja import ids
from mkoba.channels.daraja.body import Body
from mkoba.channels.daraja.envelope import INTERNAL, NOT_FOUND, DarajaError
from mkoba.channels.daraja.http import authenticate, channel, endpoint
from mkoba.channels.daraja.registry import Urls
from mkoba.channels.daraja.state import Daraja
from mkoba.commands import Command
from mkoba.commands import catalog as commands
from mkoba.parties import Pin, seal_pin
from mkoba.processor.request import Channel, Request


def _originator(oid: str, description: str) -> dict[str, Any]:
    return {
        "OriginatorCoversationID": oid,
        "OriginatorConversationID": oid,
        "ResponseCode": "0",
        "ResponseDescription": description,
    }


async def _register(request: HttpRequest, version: str) -> dict[str, Any]:
    daraja = channel(request)
    app = authenticate(daraja, request, "c2b", f"c2b_{version}")
    body = await Body.read(request)
    shortcode = body.digits("ShortCode")
    code = daraja.registry.shortcode_of(app, shortcode)
    if code is None or code.kind == "b2c":
        raise DarajaError.field("ShortCode")
    response_type = body.choice("ResponseType", ("Completed", "Cancelled"))
    confirmation = body.url("ConfirmationURL")
    validation = body.url("ValidationURL", required=False)
    registry = daraja.registry
    if not daraja.sandbox.enabled and shortcode in registry.urls:
        raise DarajaError(INTERNAL, "Urls are already registered")
    urls = Urls(shortcode, app.id, version, response_type, confirmation, validation)
    await daraja.commit([registry.urls_write(urls, daraja.now())])
    registry.set_urls(urls)
    return _originator(ids.originator_id(), "Success")


@endpoint
async def register_v1(request: HttpRequest) -> dict[str, Any]:
    """``POST /mpesa/c2b/v1/registerurl``."""
    return await _register(request, "v1")


@endpoint
async def register_v2(request: HttpRequest) -> dict[str, Any]:
    """``POST /mpesa/c2b/v2/registerurl`` (its callbacks mask the MSISDN)."""
    return await _register(request, "v2")


async def _simulate(request: HttpRequest, version: str) -> dict[str, Any]:
    daraja = channel(request)
    if not daraja.sandbox.enabled:
        raise DarajaError(NOT_FOUND)
    app = authenticate(daraja, request, "c2b", f"c2b_{version}")
    body = await Body.read(request)
    shortcode = body.digits("ShortCode")
    code = daraja.registry.shortcode_of(app, shortcode)
    if code is None or code.kind == "b2c":
        raise DarajaError.field("ShortCode")
    command_id = body.choice("CommandID", ("CustomerPayBillOnline", "CustomerBuyGoodsOnline"))
    if (command_id == "CustomerBuyGoodsOnline") != (code.kind == "till"):
        raise DarajaError.field("CommandID")
    amount = body.amount("Amount")
    msisdn = body.msisdn("Msisdn")
    if not daraja.sandbox.acts_for(msisdn):
        raise DarajaError.field("Msisdn")
    reference = body.text("BillRefNumber", required=code.kind != "till")
    oid = ids.originator_id()
    minor = amount * daraja.ports.profile().currency.minor_per_major
    payment: Command
    if code.kind == "till":
        product, payment = "buy_goods", commands.BuyGoods(shortcode, minor)
    else:
        product, payment = "pay_bill", commands.PayBill(shortcode, reference, minor)
    request_id = f"c2b:{app.id}:{oid}"
    daraja.spawn(_pay(daraja, request_id, product, msisdn, payment), f"c2b-simulate-{oid}")
    return _originator(oid, "Accept the service request successfully.")


async def _pay(
    daraja: Daraja, request_id: str, product: str, msisdn: str, command: Command
) -> None:
    """The test customer pays, with the sandbox PIN, as from the phone menu."""
    pin = Pin(daraja.settings.daraja_sandbox_pin)
    sealed = seal_pin(pin, daraja.ports.transport_key, request_id.encode())
    request = Request(request_id, Channel.DARAJA, product, msisdn, command, sealed, daraja.now())
    await daraja.ports.request(request)


@endpoint
async def simulate_v1(request: HttpRequest) -> dict[str, Any]:
    """``POST /mpesa/c2b/v1/simulate`` (sandbox only)."""
    return await _simulate(request, "v1")


@endpoint
async def simulate_v2(request: HttpRequest) -> dict[str, Any]:
    """``POST /mpesa/c2b/v2/simulate`` (sandbox only)."""
    return await _simulate(request, "v2")
