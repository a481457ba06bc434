"""The Daraja surface on the platform's one FastAPI app, at Daraja's own paths.

Routes are served from the root, as on Safaricom's hosts, so an SDK needs only
its base URL changed. Under Daraja's path prefixes every answer comes from
this channel (``FastPath``) and every error is Daraja's envelope (unknown paths
``404.001.01``, wrong methods ``405.001``, bad JSON ``400.002.05``); the native
API keeps its own errors. The OpenAPI document describes every route, its body
and its answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.requests import Request as HttpRequest
from starlette.responses import Response

from mkoba.channels.daraja import auth, business, c2b, models, pull, qr, stk
from mkoba.channels.daraja.envelope import METHOD, NOT_FOUND, error_body
from mkoba.channels.daraja.handset import mount_handset
from mkoba.channels.daraja.http import ANSWERERS, Answerer

if TYPE_CHECKING:
    from mkoba.channels.daraja.state import Daraja

# Paths under these are Daraja's (or Safaricom's other APIs): they answer in its envelope.
PREFIXES = (
    "/oauth/",
    "/mpesa/",
    "/pulltransactions/",
    "/standingorder/",
    "/v1/",
    "/v2/",
    "/imsi/",
    "/sfcverify/",
    "/registration/",
    "/simportal/",
)
_ROOTS = frozenset(prefix.rstrip("/") for prefix in PREFIXES)


def is_daraja(path: str) -> bool:
    """Whether ``path`` is under one of Daraja's prefixes."""
    return path.startswith(PREFIXES) or path.rstrip("/") in _ROOTS


Route = Callable[[HttpRequest], Awaitable[Response]]


class RouteSpec(NamedTuple):
    """One Daraja route: where, how, and what it takes and answers."""

    path: str
    methods: tuple[str, ...]
    endpoint: Route
    summary: str
    body: type[BaseModel] | None
    answer: type[BaseModel]
    security: str = "DarajaBearer"


ACK = models.Acknowledgement
ROUTES = (
    RouteSpec(
        "/oauth/v1/generate",
        ("GET",),
        auth.generate,
        "OAuth: a bearer token for a consumer key and secret (HTTP Basic)",
        None,
        models.TokenAnswer,
        "DarajaBasic",
    ),
    RouteSpec(
        "/mpesa/stkpush/v1/processrequest",
        ("POST",),
        stk.push,
        "M-Pesa Express: prompt a customer to pay",
        models.StkPushBody,
        models.StkPushAnswer,
    ),
    RouteSpec(
        "/mpesa/stkpushquery/v1/query",
        ("POST",),
        stk.query,
        "M-Pesa Express query",
        models.StkQueryBody,
        models.StkQueryAnswer,
    ),
    RouteSpec(
        "/mpesa/c2b/v1/registerurl",
        ("POST",),
        c2b.register_v1,
        "C2B: register URLs",
        models.RegisterUrlBody,
        models.OriginatorAnswer,
    ),
    RouteSpec(
        "/mpesa/c2b/v2/registerurl",
        ("POST",),
        c2b.register_v2,
        "C2B: register URLs (v2, masked MSISDN)",
        models.RegisterUrlBody,
        models.OriginatorAnswer,
    ),
    RouteSpec(
        "/mpesa/c2b/v1/simulate",
        ("POST",),
        c2b.simulate_v1,
        "C2B: simulate a payment (sandbox)",
        models.SimulateBody,
        models.OriginatorAnswer,
    ),
    RouteSpec(
        "/mpesa/c2b/v2/simulate",
        ("POST",),
        c2b.simulate_v2,
        "C2B: simulate a payment (sandbox, v2)",
        models.SimulateBody,
        models.OriginatorAnswer,
    ),
    RouteSpec(
        "/mpesa/b2c/v3/paymentrequest",
        ("POST",),
        business.b2c_v3,
        "B2C: pay a customer",
        models.B2CBody,
        ACK,
    ),
    RouteSpec(
        "/mpesa/b2c/v1/paymentrequest",
        ("POST",),
        business.b2c_v1,
        "B2C: pay a customer (legacy v1)",
        models.B2CBody,
        ACK,
    ),
    RouteSpec(
        "/mpesa/b2pochi/v1/paymentrequest",
        ("POST",),
        business.b2pochi,
        "B2Pochi: pay a customer's Pochi la Biashara",
        models.B2CBody,
        ACK,
    ),
    RouteSpec(
        "/mpesa/b2b/v1/paymentrequest",
        ("POST",),
        business.b2b,
        "B2B: pay a paybill or till, top up a B2C shortcode",
        models.B2BBody,
        ACK,
    ),
    RouteSpec(
        "/mpesa/b2b/v1/remittax",
        ("POST",),
        business.remit_tax,
        "Tax remittance to KRA",
        models.TaxBody,
        ACK,
    ),
    RouteSpec(
        "/mpesa/transactionstatus/v1/query",
        ("POST",),
        business.status,
        "Transaction status",
        models.StatusBody,
        ACK,
    ),
    RouteSpec(
        "/mpesa/accountbalance/v1/query",
        ("POST",),
        business.balance,
        "Account balance",
        models.BalanceBody,
        ACK,
    ),
    RouteSpec(
        "/mpesa/reversal/v1/request",
        ("POST",),
        business.reversal,
        "Reversal of a payment received",
        models.ReversalBody,
        ACK,
    ),
    RouteSpec(
        "/mpesa/qrcode/v1/generate",
        ("POST",),
        qr.generate,
        "Dynamic QR code",
        models.QrBody,
        models.QrAnswer,
    ),
    RouteSpec(
        "/pulltransactions/v1/register",
        ("POST",),
        pull.register,
        "Pull transactions: register a shortcode",
        models.PullRegisterBody,
        models.PullRegisterAnswer,
    ),
    RouteSpec(
        "/pulltransactions/v1/query",
        ("POST", "GET"),
        pull.query,
        "Pull transactions: C2B payments between two moments",
        models.PullQueryBody,
        models.PullQueryAnswer,
    ),
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": models.ErrorEnvelope, "description": description}
    for status, description in (
        (400, "Bad request, bad token (C2B family) or bad credentials"),
        (401, "Bad token (B2C family) or an API product the app does not hold"),
        (404, "Unknown path, bad token (STK) or bad Authorization header"),
        (405, "Wrong method"),
        (500, "Merchant, password, subscriber lock, pending query, duplicate, internal"),
    )
}


def _extra(spec: RouteSpec) -> dict[str, Any]:
    extra: dict[str, Any] = {"security": [{spec.security: []}]}
    if spec.body is not None and "POST" in spec.methods:
        extra["requestBody"] = models.body_schema(spec.body)
    if spec.path == "/oauth/v1/generate":
        extra["parameters"] = [
            {
                "name": "grant_type",
                "in": "query",
                "required": True,
                "schema": {"type": "string", "enum": ["client_credentials"]},
            }
        ]
    return extra


def mount(app: FastAPI, daraja: Daraja) -> None:
    """Add the Daraja routes, the handset routes, the error envelope and the OpenAPI parts."""
    # The routes find the channel here at request time (``http.channel``).
    app.state.daraja = daraja
    for spec in ROUTES:
        responses: dict[int | str, dict[str, Any]] = {
            200: {"model": spec.answer, "description": "Accepted"},
            **_ERRORS,
        }
        slug = spec.path.strip("/").replace("/", "_")
        # One route per method, so that each operation has an id of its own.
        for method in spec.methods:
            app.add_api_route(
                spec.path,
                spec.endpoint,
                methods=[method],
                summary=spec.summary,
                tags=["daraja"],
                operation_id=f"daraja_{slug}_{method.lower()}",
                response_model=None,
                responses=responses,
                openapi_extra=_extra(spec),
            )
    mount_handset(app, daraja)
    table = {
        (method, spec.path): ANSWERERS[spec.endpoint] for spec in ROUTES for method in spec.methods
    }
    build = app.build_middleware_stack

    def in_front() -> Any:
        return FastPath(build(), table)

    # Outermost: the platform's middleware stack is built (once) on the first request.
    app.build_middleware_stack = in_front  # type: ignore[method-assign]
    _openapi(app)


_JSON = [(b"content-type", b"application/json")]


class FastPath:
    """ASGI app in front of the platform's, answering every request under Daraja's prefixes.

    Daraja's surface is a fixed table of exact paths, so a dictionary finds the
    route: the router's walk through every route of the app and the middleware
    stack's request and response wrapping are skipped (they cost more than the
    STK push itself). Unknown paths and wrong methods get Daraja's envelope
    here; everything else goes on to the app. The same routes are also
    registered on the app, for its OpenAPI document.
    """

    def __init__(self, app: Any, table: dict[tuple[str, str], Answerer]) -> None:
        self.app = app
        self.table = table
        self.paths = frozenset(path for _, path in table)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path or not is_daraja(path):
            await self.app(scope, receive, send)
            return
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        answer = self.table.get((method, path))
        if answer is not None:
            status, body = await answer(HttpRequest(scope, receive))
        elif path in self.paths:
            status, body = METHOD.status, error_body(METHOD)
        else:
            status, body = NOT_FOUND.status, error_body(NOT_FOUND)
        headers = [*_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )


def _openapi(app: FastAPI) -> None:
    """Name the two security schemes the Daraja routes use."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["DarajaBearer"] = {"type": "http", "scheme": "bearer"}
        schemes["DarajaBasic"] = {"type": "http", "scheme": "basic"}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
