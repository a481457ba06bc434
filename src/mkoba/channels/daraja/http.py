"""What every Daraja route does: find the channel, authenticate, answer errors in the envelope.

``endpoint`` wraps a route so that a ``DarajaError`` becomes its envelope and
anything unexpected becomes ``500.003.1001`` (logged, never shown). In the
cluster form, a route that could not reach a core before its deadline answers
Daraja's busy code, ``500.003.02``. Bearer
tokens are checked per API family, because Daraja's codes for a bad token
differ by API (daraja.md §3.1).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request as HttpRequest
from starlette.responses import Response

from mkoba.channels.daraja.envelope import (
    AUTH_HEADER,
    BUSY,
    INTERNAL,
    NO_PRODUCT,
    NOT_FOUND,
    TOKEN_B2C,
    TOKEN_C2B,
    TOKEN_PULL,
    TOKEN_STK,
    DarajaError,
    ErrorCode,
    error_body,
    json_text,
)
from mkoba.channels.daraja.registry import App
from mkoba.channels.daraja.state import Daraja
from mkoba.ports import Unavailable

log = logging.getLogger("mkoba.daraja.http")

# The bad-token answer of each API family.
TOKEN_ERRORS: dict[str, ErrorCode] = {
    "stk": TOKEN_STK,
    "c2b": TOKEN_C2B,
    "b2c": TOKEN_B2C,
    "pull": TOKEN_PULL,
}
_TIMESTAMP = re.compile(r"^[0-9]{14}$")
# A bearer token is 28 characters; anything much longer is not one of ours.
token_length_max = 256

Route = Callable[[HttpRequest], Awaitable[Response]]


def channel(request: HttpRequest) -> Daraja:
    """The running channel; ``404.001.01`` before it has started."""
    found = getattr(request.app.state, "daraja", None)
    if not isinstance(found, Daraja) or not found.running:
        raise DarajaError(NOT_FOUND)
    return found


Answerer = Callable[[HttpRequest], Awaitable[tuple[int, bytes]]]
# Each endpoint's raw form (status and JSON bytes), for the ASGI fast path (routes.py).
ANSWERERS: dict[Route, Answerer] = {}


def endpoint(route: Callable[[HttpRequest], Awaitable[Any]]) -> Route:
    """A Daraja route: its dict becomes JSON, its errors the envelope."""

    async def answer(request: HttpRequest) -> tuple[int, bytes]:
        try:
            found = await route(request)
        except DarajaError as error:
            return error.error.status, error_body(error.error, error.message, error.request_id)
        except Unavailable:
            # The cluster form, while no core serves: Daraja's own busy answer.
            log.warning("Daraja route %s: no core answered in time", request.url.path)
            return BUSY.status, error_body(BUSY, "System is busy")
        except Exception:
            log.exception("Daraja route %s failed", request.url.path)
            return INTERNAL.status, error_body(INTERNAL)
        return 200, json_text(found).encode()

    @functools.wraps(route)
    async def run(request: HttpRequest) -> Response:
        status, body = await answer(request)
        return Response(body, status_code=status, media_type="application/json")

    ANSWERERS[run] = answer
    return run


def authenticate(daraja: Daraja, request: HttpRequest, family: str, product: str) -> App:
    """The app behind the request's bearer token, holding ``product``."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > token_length_max:
        raise DarajaError(AUTH_HEADER)
    digest = daraja.vault.verifier("token", token)
    app = daraja.registry.app_by_token(digest, daraja.now())
    if app is None:
        raise DarajaError(TOKEN_ERRORS[family])
    if not app.allows(product):
        raise DarajaError(NO_PRODUCT)
    return app


def password_matches(password: str, shortcodes: tuple[str, ...], passkey: str, stamp: str) -> bool:
    """Whether ``password`` is base64(shortcode + passkey + timestamp), for the body's own stamp.

    SDKs put the shortcode as they sent it (leading zeros or not), so each spelling
    counts; clock skew does not matter: the timestamp is the body's.
    """
    if not _TIMESTAMP.match(stamp):
        return False
    try:
        decoded = base64.b64decode(password, validate=True)
    except (binascii.Error, ValueError):
        return False
    return any(
        hmac.compare_digest(decoded, f"{code}{passkey}{stamp}".encode()) for code in shortcodes
    )


def acknowledged(conversation_id: str, originator_id: str) -> dict[str, str]:
    """The four-field acknowledgement of a business request."""
    return {
        "ConversationID": conversation_id,
        "OriginatorConversationID": originator_id,
        "ResponseCode": "0",
        "ResponseDescription": "Accept the service request successfully.",
    }
