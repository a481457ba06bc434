"""The native JSON API and the service endpoints, as one FastAPI app.

Each product is a POST route under /api/v1 taking the requester's number, PIN
and the product's fields. The PIN is sealed here, in the adapter, and never
travels in clear. Before a success leaves, the route acknowledges its delivery,
which posts the money held pending on this channel: a client never sees a
success that could still be undone. A client that went away before its answer
was ready gets its request rolled back. Every answer, errors included, is the
JSON ``Envelope``: never an HTML page, never a stack trace.
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.responses import Response as HTTPResponse
from prometheus_client import generate_latest
from starlette.exceptions import HTTPException

from mkoba import __version__, metrics
from mkoba.channels.api import inbox, models, operator
from mkoba.channels.api.crashes import Crashes
from mkoba.channels.api.docs import mount_docs
from mkoba.channels.api.limits import BodyLimit
from mkoba.channels.api.units import present
from mkoba.money import Currency
from mkoba.parties import InvalidMsisdn, Pin, normalize_msisdn, seal_pin
from mkoba.parties.handsets import HandsetKey
from mkoba.processor.codes import Code
from mkoba.processor.request import Channel, Response
from mkoba.processor.request import Request as TranProcRequest
from mkoba.text import storable

if TYPE_CHECKING:
    from mkoba.app import Platform

log = logging.getLogger("mkoba.api")

ROUTES: dict[str, tuple[str, type[models.Body], str]] = {
    "register": ("/api/v1/register", models.RegisterBody, "Register a customer"),
    "send_money": ("/api/v1/send-money", models.SendMoneyBody, "Send money"),
    "deposit": ("/api/v1/deposit", models.DepositBody, "Deposit cash at an agent"),
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
    "approve_reversal": (
        "/api/v1/reversals/approve",
        models.ReceiptBody,
        "Approve a reversal (staff)",
    ),
    "reject_reversal": (
        "/api/v1/reversals/reject",
        models.ReceiptBody,
        "Reject a reversal (staff)",
    ),
    "float_transfer": ("/api/v1/float-transfer", models.FloatTransferBody, "Move agent float"),
    "issue_emoney": ("/api/v1/emoney/issue", models.EmoneyBody, "Issue e-money (operations)"),
    "redeem_emoney": ("/api/v1/emoney/redeem", models.EmoneyBody, "Redeem e-money (operations)"),
    "unlock_pin": ("/api/v1/pin/unlock", models.CustomerBody, "Unlock a PIN (staff)"),
    "reset_pin": ("/api/v1/pin/reset", models.CustomerBody, "Reset a PIN (staff)"),
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
}


def envelope(response: Response, currency: Currency) -> dict[str, Any]:
    """The JSON body of a TranProc response (money in both units, ``units.py``)."""
    return {
        "ok": response.ok,
        "code": str(response.code),
        "message": response.message,
        "receipt": response.receipt,
        "request_id": response.request_id,
        "data": present(response.data, currency),
    }


def error(code: Code, message: str, status: int | None = None) -> JSONResponse:
    """An error answer in the envelope."""
    body = {
        "ok": False,
        "code": str(code),
        "message": message,
        "receipt": None,
        "request_id": "",
        "data": {},
    }
    return JSONResponse(body, status_code=status or code.http_status)


def build_app(platform: Platform, lifespan: Callable[[Any], Any]) -> FastAPI:
    """The FastAPI app serving ``platform``."""
    app = FastAPI(
        title="mkoba",
        version=__version__,
        description="M-Pesa in a box: the native JSON API of an open-source mobile-money"
        " platform. Amounts go in as `amount` (shillings, a number or a string) or"
        " `amount_minor` (cents); money in `data` is named in both units (`amount`:"
        ' "1000.00", `amount_minor`: 100000) and formatted in `message`.',
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load their assets from a CDN: docs.py serves them
        redoc_url=None,
    )
    mount_docs(app)
    app.state.platform = platform
    app.add_middleware(BodyLimit)
    app.add_middleware(Crashes)  # added last: outermost of ours, inside Starlette's
    _errors(app)
    _service_routes(app, platform)
    # Simulated handsets (no SIM) prove their number with a credential; not with a real SMSC.
    handsets = (
        None if platform.settings.smpp else HandsetKey.load_or_create(platform.settings.keys_dir)
    )
    for product, (path, body, summary) in ROUTES.items():
        _product_route(app, platform, handsets, product, path, body, summary)
    if not platform.front:
        # A front has no SMSC: the simulated handsets' SMS are the core's to show.
        inbox.mount(app, platform)
        operator.mount(app, platform)
    from mkoba.app import extensions

    for module in extensions(platform.settings.role):
        mount = getattr(module, "mount", None)
        if mount is not None:
            mount(app, platform)
    return app


def _errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(Code.INVALID_INPUT, validation_message(exc.errors()))

    @app.exception_handler(HTTPException)
    async def http(_request: Request, exc: HTTPException) -> JSONResponse:
        code = Code.UNKNOWN_PRODUCT if exc.status_code == 404 else Code.INVALID_INPUT
        return error(code, str(exc.detail), exc.status_code)


def _service_routes(app: FastAPI, platform: Platform) -> None:
    @app.get(
        "/health",
        summary="Is it up, and is every part working (503 when a part is not)",
        responses={503: {"description": "a part has failed: see parts"}},
    )
    async def health() -> JSONResponse:
        report = platform.health()
        found = {
            "status": report["status"],
            "version": __version__,
            "role": platform.settings.role,
            "uptime_s": round(time.time() - platform.started, 3),
            "profile": platform.services.profile(platform.clock()).version,
            # The zone the SMS and receipts name their times in (mkoba phone shows its SMS so).
            "timezone": platform.services.profile(platform.clock()).timezone.key,
            "parts": report["parts"],
        }
        if not platform.front:
            processor = platform.processor
            found |= {
                "requests_handled": processor.handled,
                "deliveries_waiting": len(processor.deliveries),
                "ledger_batches": platform.writer.batches,
                "outbox_sent": platform.outbox.sent,
            }
        return JSONResponse(found, status_code=200 if report["status"] == "ok" else 503)

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        if not platform.front:
            metrics.deliveries_waiting.set(len(platform.processor.deliveries))
            metrics.ledger_batches.set(platform.writer.batches)
        return PlainTextResponse(generate_latest(metrics.registry).decode())

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
        if not platform.settings.smpp and not platform.front:
            # The simulated handsets' inbox (their credential required); real SMS go to phones.
            found["sms_inbox"] = "/api/v1/sms/{msisdn}"
        return found


def _product_route(
    app: FastAPI,
    platform: Platform,
    handsets: HandsetKey | None,
    product: str,
    path: str,
    body_type: type[models.Body],
    summary: str,
) -> None:
    async def route(
        http: Request,
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
        params = body.params()
        try:
            sealed = (
                seal_pin(Pin(body.pin), platform.transport_key, request_id.encode())
                if body.pin
                else None
            )
            new_pin = getattr(body, "new_pin", None)
            if new_pin is not None:
                blob = seal_pin(
                    Pin(new_pin), platform.transport_key, request_id.encode() + b":new"
                ).blob
                params["sealed_new_pin"] = base64.b64encode(blob).decode()
        except ValueError as problem:
            return error(Code.INVALID_INPUT, f"pin: {problem}")
        request = TranProcRequest(
            request_id, Channel.API, product, msisdn, params, sealed, time.time_ns(), phone
        )
        response = await platform.request(request)
        if response.ok:
            delivered = await _deliver(platform, http, response)
            if delivered is None:
                return HTTPResponse(status_code=499)  # the client is gone: rolled back
            response = delivered
        currency = platform.services.profile(platform.clock()).currency
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


async def _deliver(platform: Platform, http: Request, response: Response) -> Response | None:
    """Make a success durable before it leaves; None when the client is already gone.

    The acknowledgement posts money held pending on this channel, so the success
    the client reads can never be rolled back. If the deadline came first, the
    client is told ``ROLLED_BACK`` instead; if the client hung up before its
    answer was ready, it heard nothing and the request is rolled back.
    """
    if await http.is_disconnected():
        await platform.acknowledge(response.request_id, False)
        return None
    if await platform.acknowledge(response.request_id):
        return response
    return Response(response.request_id, Code.ROLLED_BACK, Code.ROLLED_BACK.message)


def validation_message(problems: Sequence[Any]) -> str:
    """What is wrong with a body, field by field, without echoing what was sent."""
    lines = []
    for problem in problems:
        if problem.get("type") == "json_invalid":
            where = problem["loc"][-1] if problem["loc"] else 0
            reason = problem.get("ctx", {}).get("error", "invalid JSON")
            lines.append(f"body: not valid JSON ({reason}) at character {where}")
            continue
        where = ".".join(str(part) for part in problem["loc"] if part != "body")
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)
