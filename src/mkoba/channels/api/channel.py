"""The native JSON API: a POST route per product, the simulated handsets' inbox, the operator.

Each product is a POST route under /api/v1 taking the requester's number, PIN
and the product's fields. The PIN is sealed here, in the adapter, and never
travels in clear. Before a success leaves, the route acknowledges its delivery,
which posts the money held pending on this channel: a client never sees a
success that could still be undone. A client that went away before its answer
was ready gets its request rolled back. Answers are the JSON ``Envelope``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from fastapi.responses import Response as HTTPResponse
from starlette.requests import Request as HttpRequest

from mkoba import __version__
from mkoba.channels.api import inbox, models, operator
from mkoba.channels.api.app import envelope, error
from mkoba.codes import Code
from mkoba.commands import BadCommand, parse
from mkoba.outbox import MemorySmsc
from mkoba.parties import InvalidMsisdn, Pin, normalize_msisdn, seal_pin
from mkoba.parties.handsets import HandsetKey
from mkoba.parties.secrets import Otp
from mkoba.ports import Ports, Unavailable
from mkoba.processor.request import Channel, Request, Response
from mkoba.settings import Settings
from mkoba.text import storable

ROUTES: dict[str, tuple[str, type[models.Body], str]] = {
    "register": ("/api/v1/register", models.RegisterBody, "Register a customer"),
    "send_money": ("/api/v1/send-money", models.SendMoneyBody, "Send money"),
    "deposit": ("/api/v1/deposit", models.DepositBody, "Deposit cash at an agent"),
    "register_customer": (
        "/api/v1/agent/register-customer",
        models.AgentRegisterBody,
        "An agent registers a customer (who then sets their own PIN)",
    ),
    "withdraw": ("/api/v1/withdraw", models.WithdrawBody, "Withdraw cash at an agent"),
    "balance": ("/api/v1/balance", models.PinOnlyBody, "Check balance"),
    "mini_statement": ("/api/v1/mini-statement", models.PinOnlyBody, "Last five transactions"),
    "change_pin": ("/api/v1/change-pin", models.ChangePinBody, "Change PIN"),
    "name_lookup": ("/api/v1/name-lookup", models.NameLookupBody, "Name before paying"),
    "pay_bill": ("/api/v1/pay-bill", models.PayBillBody, "Pay a bill (paybill number)"),
    "buy_goods": ("/api/v1/buy-goods", models.BuyGoodsBody, "Pay a till (buy goods)"),
    "buy_airtime": ("/api/v1/buy-airtime", models.BuyAirtimeBody, "Buy airtime"),
    "send_unregistered": (
        "/api/v1/send-unregistered",
        models.SendUnregisteredBody,
        "Send money to an unregistered number (a voucher)",
    ),
    "redeem_voucher": ("/api/v1/redeem-voucher", models.RedeemVoucherBody, "Cash a voucher"),
    "request_reversal": ("/api/v1/reversals", models.ReceiptBody, "Ask for a reversal"),
    "float_transfer": ("/api/v1/float-transfer", models.FloatTransferBody, "Move agent float"),
    "pin_unlock_self": (
        "/api/v1/pin/unlock-self",
        models.UnlockSelfBody,
        "Unlock your PIN with your ID number",
    ),
    "commission_statement": (
        "/api/v1/commission-statement",
        models.PinOnlyBody,
        "Agent commission balance and latest credits",
    ),
    "set_language": ("/api/v1/language", models.LanguageBody, "Choose English or Kiswahili"),
    "open_ticket": ("/api/v1/tickets", models.TicketBody, "Ask customer care for help"),
}


class ApiChannel:
    """The native API as the composition root drives it.

    ``smsc`` is the in-memory SMSC whose inbox simulated handsets read (None on a
    front, or with a real SMSC); ``operator`` serves the operator's signed routes
    (a core only).
    """

    def __init__(
        self, ports: Ports, settings: Settings, smsc: MemorySmsc | None, operator: bool
    ) -> None:
        self.ports = ports
        self.settings = settings
        self.smsc = None if settings.smpp else smsc
        self.operator = operator
        # Simulated handsets (no SIM) prove their number with a credential; not with a real SMSC.
        self.handsets = None if settings.smpp else HandsetKey.load_or_create(settings.keys_dir)

    def mount(self, app: FastAPI) -> None:
        """Add a route per product, the inbox, the operator's routes and the index."""
        for product, (path, body, summary) in ROUTES.items():
            _product_route(app, self.ports, self.handsets, product, path, body, summary)
        if self.smsc is not None and self.handsets is not None:
            inbox.mount(app, self.smsc, self.handsets)
        if self.operator:
            operator.mount(app, self.ports.request, self.settings.keys_dir)
        serves_inbox = self.smsc is not None

        @app.get("/", summary="What is served where")
        async def index() -> dict[str, Any]:
            found = {
                "name": "mkoba",
                "version": __version__,
                "docs": "/docs",
                "openapi": "/openapi.json",
                "health": "/health",
                "metrics": "/metrics",
                "api": {product: path for product, (path, _, _) in ROUTES.items()},
            }
            if serves_inbox:
                # The simulated handsets' inbox (their credential required); real SMS go to phones.
                found["sms_inbox"] = "/api/v1/sms/{msisdn}"
            return found

    async def start(self) -> None:
        """Nothing to start: the routes serve once the platform has."""

    async def stop(self) -> None:
        """Nothing to stop."""


def _product_route(
    app: FastAPI,
    ports: Ports,
    handsets: HandsetKey | None,
    product: str,
    path: str,
    body_type: type[models.Body],
    summary: str,
) -> None:
    async def route(
        http: HttpRequest,
        body: models.Body,
        idempotency_key: str | None = Header(None, max_length=200),
        authorization: str | None = Header(
            None,
            max_length=200,
            description="a simulated handset's credential (Handset <credential>): the"
            " request comes from the phone itself (register, unlock with the ID number)",
        ),
    ) -> Any:
        try:
            msisdn = normalize_msisdn(body.msisdn)
        except InvalidMsisdn as problem:
            return error(Code.INVALID_INPUT, f"msisdn: {problem}")
        phone = False
        if authorization is not None:
            # A handset credential proves this number's phone; anything else proves nothing.
            phone = handsets is not None and handsets.caller(authorization) == msisdn
            if not phone:
                return inbox.refused()
        if idempotency_key is not None and not storable(idempotency_key):
            return error(Code.INVALID_INPUT, "Idempotency-Key: printable text only")
        key = idempotency_key or uuid.uuid4().hex
        request_id = f"api:{msisdn}:{key}"
        try:
            command = parse(product, body.params(), ports.profile())
        except BadCommand as bad:
            return error(bad.code, bad.message)
        try:
            sealed = (
                seal_pin(Pin(body.pin), ports.transport_key, request_id.encode())
                if body.pin
                else None
            )
            otp = getattr(body, "otp", None)
            sealed_otp = (
                seal_pin(Otp(otp), ports.transport_key, request_id.encode() + b":otp")
                if otp is not None
                else None
            )
            new_pin = getattr(body, "new_pin", None)
            sealed_new = (
                seal_pin(Pin(new_pin), ports.transport_key, request_id.encode() + b":new")
                if new_pin is not None
                else None
            )
        except ValueError as problem:
            return error(Code.INVALID_INPUT, f"pin: {problem}")
        request = Request(
            request_id,
            Channel.API,
            product,
            msisdn,
            command,
            sealed,
            time.time_ns(),
            phone,
            new_pin=sealed_new,
            otp=sealed_otp,
        )
        response = await ports.request(request)
        if response.ok:
            delivered = await _deliver(ports, http, response)
            if delivered is None:
                return HTTPResponse(status_code=499)  # the client is gone: rolled back
            response = delivered
        currency = ports.profile().currency
        return JSONResponse(envelope(response, currency), status_code=response.code.http_status)

    route.__annotations__["body"] = body_type
    route.__name__ = product
    app.post(
        path,
        summary=summary,
        response_model=models.Envelope,
        responses={400: {"model": models.Envelope}, 402: {"model": models.Envelope}},
        tags=["native"],
    )(route)


async def _deliver(ports: Ports, http: HttpRequest, response: Response) -> Response | None:
    """Make a success durable before it leaves; None when the client is already gone.

    The acknowledgement posts money held pending on this channel, so the success
    the client reads can never be rolled back. If the deadline came first, the
    client is told ``ROLLED_BACK`` instead; if the client hung up before its
    answer was ready, it heard nothing and the request is rolled back.
    """
    if await http.is_disconnected():
        await ports.acknowledge(response.request_id, False)
        return None
    try:
        if await ports.acknowledge(response.request_id):
            return response
    except Unavailable:
        # Whether the money moved is not known yet (the cluster form, a core lost
        # meanwhile): busy, and the same Idempotency-Key again gets the outcome.
        return Response(response.request_id, Code.SYSTEM_BUSY, Code.SYSTEM_BUSY.message)
    return Response(response.request_id, Code.ROLLED_BACK, Code.ROLLED_BACK.message)
