"""An operator's CAMARA SIM Swap API, built from the published OpenAPI document.

Not a mock of our client: a small server that does what ``sim-swap.yaml`` says.
It checks every request body against the spec's request schema (OpenAPI 3.0
rules, through openapi-schema-validator), answers from an in-memory table of
subscribers, issues OAuth2 client-credentials tokens (RFC 6749 §4.4) with scopes
and lifetimes, answers the spec's errors ({status, code, message}), and checks
each of its own answers against the spec's response schema for that status: a
violation is recorded in ``Operator.violations`` (the fixture fails the test).

``Operator.fault`` breaks the contract on purpose (a 500, a body that is not JSON,
a 200 that violates the schema): those answers are not checked, being wrong is
their point.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

SPEC_PATH = Path(__file__).with_name("sim-swap.yaml")
TOKEN_PATH = "/oauth/token"


@cache
def spec() -> dict[str, Any]:
    """The vendored OpenAPI document."""
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


def base_path() -> str:
    """The API's path from the spec's server URL (``{apiRoot}/sim-swap/v2rc2``)."""
    url: str = spec()["servers"][0]["url"]
    return url.removeprefix("{apiRoot}")


def validator(schema: dict[str, Any]) -> OAS30Validator:
    """An OpenAPI 3.0 validator for ``schema``, its ``#/components/...`` refs resolvable."""
    return OAS30Validator(
        {**schema, "components": spec()["components"]}, format_checker=oas30_format_checker
    )


def operation(path: str) -> dict[str, Any]:
    """The spec's POST operation at ``path``."""
    found: dict[str, Any] = spec()["paths"][path]["post"]
    return found


def request_schema(path: str) -> dict[str, Any]:
    """The request body schema of ``path``."""
    body = operation(path)["requestBody"]["content"]["application/json"]
    found: dict[str, Any] = body["schema"]
    return found


def response_schema(path: str, status: int) -> dict[str, Any]:
    """The response schema the spec gives ``path`` for ``status`` (refs followed)."""
    answer = operation(path)["responses"][str(status)]
    ref = answer.get("$ref")
    if ref is not None:
        answer = spec()["components"]["responses"][ref.rsplit("/", 1)[1]]
    found: dict[str, Any] = answer["content"]["application/json"]["schema"]
    return found


def scopes_for(path: str) -> set[str]:
    """The scopes any one of which allows ``path`` (its security requirements)."""
    return {scope for need in operation(path)["security"] for scope in need["openId"]}


@dataclass
class Subscriber:
    """A line: when its SIM was first activated and when (if ever) it was last swapped."""

    activated: datetime
    swapped: datetime | None = None

    @property
    def latest(self) -> datetime:
        return self.swapped or self.activated


@dataclass
class Client:
    """An API consumer: its secret, the scopes it may have, and its phone if 3-legged."""

    secret: str
    scopes: frozenset[str]
    phone: str | None = None


@dataclass
class Grant:
    """An issued token."""

    client_id: str
    scopes: frozenset[str]
    expires_at: float
    phone: str | None


@dataclass
class Operator:
    """The operator's state, shared by the test and the server's thread."""

    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)
    not_served: set[str] = field(default_factory=set)
    privacy_cap_hours: int | None = None  # maxAge above it: 400 OUT_OF_RANGE
    monitored_days: int | None = None  # None: unlimited; else older dates come back null
    token_lifetime_s: int = 3600
    quota: int | None = None  # API calls left before 429 QUOTA_EXCEEDED
    delay_s: float = 0.0  # the API answers this late
    fault: str | None = None  # "500", "not-json", "schema": break the contract
    grants: dict[str, Grant] = field(default_factory=dict)
    issued: int = 0
    calls: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def revoke_all(self) -> None:
        """Every issued token stops working (a key rotation at the operator)."""
        self.grants.clear()


def error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    """The spec's ErrorInfo body."""
    return status, {"status": status, "code": code, "message": message}


def _correlator(request: Request) -> str | None:
    value = request.headers.get("x-correlator")
    schema = spec()["components"]["schemas"]["XCorrelator"]
    if value is not None and re.fullmatch(schema["pattern"].strip("^$"), value) is None:
        return None
    return value


def build(operator: Operator) -> Starlette:
    """The ASGI app: the two operations under the spec's base path, and a token endpoint."""

    async def token(request: Request) -> Response:
        client_id, secret = _basic(request.headers.get("authorization", ""))
        client = operator.clients.get(client_id or "")
        if client is None or not secrets.compare_digest(client.secret, secret or ""):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        # RFC 6749 §4.4.2: application/x-www-form-urlencoded (parsed here, no multipart lib).
        form = {
            key: values[-1] for key, values in parse_qs((await request.body()).decode()).items()
        }
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        asked = frozenset(str(form.get("scope", "")).split()) or client.scopes
        if not asked <= client.scopes:
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        value = secrets.token_urlsafe(24)
        expires = time.monotonic() + operator.token_lifetime_s
        operator.grants[value] = Grant(client_id or "", asked, expires, client.phone)
        operator.issued += 1
        return JSONResponse(
            {"access_token": value, "token_type": "Bearer", "expires_in": operator.token_lifetime_s}
        )

    def endpoint(path: str) -> Route:
        async def handle(request: Request) -> Response:
            correlator = _correlator(request)
            try:
                body: Any = await request.json()
            except ValueError:
                body = None
            operator.calls.append((path, dict(request.headers), body))
            if operator.delay_s:
                await asyncio.sleep(operator.delay_s)
            headers = {} if correlator is None else {"x-correlator": correlator}
            if operator.fault == "500":
                return PlainTextResponse("upstream HLR down", status_code=500, headers=headers)
            if operator.fault == "not-json":
                return PlainTextResponse("<html>maintenance</html>", headers=headers)
            if operator.fault == "schema":
                wrong = {"swapped": "yes"} if path == "/check" else {"latestSimChange": "soon"}
                return JSONResponse(wrong, headers=headers)
            status, answer = answer_for(operator, path, request, body)
            problems = [
                e.message for e in validator(response_schema(path, status)).iter_errors(answer)
            ]
            operator.violations += [f"{path} {status}: {problem}" for problem in problems]
            return JSONResponse(answer, status_code=status, headers=headers)

        return Route(base_path() + path, handle, methods=["POST"])

    routes = [
        Route(TOKEN_PATH, token, methods=["POST"]),
        endpoint("/check"),
        endpoint("/retrieve-date"),
    ]
    return Starlette(routes=routes)


def _basic(header: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return user, password


def answer_for(operator: Operator, path: str, request: Request, body: Any) -> tuple[int, Any]:
    """What the spec says the operator answers: authentication, scope, body, identity, data."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    grant = operator.grants.get(value) if scheme.lower() == "bearer" else None
    if grant is None or grant.expires_at <= time.monotonic():
        return error(
            401,
            "UNAUTHENTICATED",
            "Request not authenticated due to missing, invalid, "
            "or expired credentials. A new authentication is required.",
        )
    if not grant.scopes & scopes_for(path):
        return error(
            403,
            "PERMISSION_DENIED",
            "Client does not have sufficient permissions to perform this action.",
        )
    if not isinstance(body, dict):
        return error(400, "INVALID_ARGUMENT", "The request body is not a JSON object.")
    problems = list(validator(request_schema(path)).iter_errors(body))
    if problems:
        # A value outside a declared range is OUT_OF_RANGE, any other problem INVALID_ARGUMENT.
        if all(problem.validator in ("minimum", "maximum") for problem in problems):
            return error(400, "OUT_OF_RANGE", "Client specified an invalid range.")
        return error(
            400, "INVALID_ARGUMENT", f"Client specified an invalid argument: {problems[0].message}"
        )
    phone = body.get("phoneNumber")
    if grant.phone is not None and phone is not None:
        return error(
            422, "UNNECESSARY_IDENTIFIER", "The device is already identified by the access token."
        )
    phone = phone or grant.phone
    if phone is None:
        return error(422, "MISSING_IDENTIFIER", "The device cannot be identified.")
    if operator.quota is not None:
        if operator.quota <= 0:
            return error(429, "QUOTA_EXCEEDED", "Rejected due to exceeding a business quota limit.")
        operator.quota -= 1
    if phone in operator.not_served:
        return error(
            422,
            "SERVICE_NOT_APPLICABLE",
            "The service is not available for the provided identifier.",
        )
    line = operator.subscribers.get(phone)
    if line is None:
        return error(404, "IDENTIFIER_NOT_FOUND", "Device identifier not found.")
    now = datetime.now(UTC)
    if path == "/check":
        max_age = body.get("maxAge", 240)  # the schema's default
        cap = operator.privacy_cap_hours
        if cap is not None and max_age > cap:
            return error(
                400,
                "OUT_OF_RANGE",
                f"Check monitor period could not exceed local regulations ({cap} hours).",
            )
        return 200, {
            "swapped": line.swapped is not None and line.swapped > now - timedelta(hours=max_age)
        }
    days = operator.monitored_days
    if days is not None and line.latest <= now - timedelta(days=days):
        return 200, {"latestSimChange": None, "monitoredPeriod": days}
    return 200, {"latestSimChange": line.latest.isoformat(timespec="milliseconds")}
