"""Daraja's synchronous error envelope, its error codes, and JSON exactly as Daraja writes it.

Every error under a Daraja path is ``{"requestId", "errorCode", "errorMessage"}``
with the HTTP status Daraja uses for that code: bad JSON, unknown paths, wrong
methods and bad tokens included. ``json_text`` writes bodies with amounts as
the number literals Daraja sends (``1.00``), which Python floats cannot.
"""

from __future__ import annotations

import json
import os
import random
import re
import uuid
from typing import Any, NamedTuple

from starlette.responses import Response

# Error ids are names, not secrets: a fast generator will do.
_random = random.Random(os.urandom(16))


class ErrorCode(NamedTuple):
    """One of Daraja's gateway errors: its code, HTTP status and usual message."""

    code: str
    status: int
    message: str


# The codes of Daraja's per-API error tables (daraja.md §4.2), by what went wrong.
INVALID_FIELD = ErrorCode("400.002.02", 400, "Bad Request - Invalid {field}")
INVALID_PAYLOAD = ErrorCode("400.002.05", 400, "Invalid Request Payload")
BAD_REQUEST = ErrorCode("400.003.02", 400, "Bad Request")
AUTH_TYPE = ErrorCode("400.008.01", 400, "Invalid authentication type passed")
AUTH_FAILED = ErrorCode("400.008.01", 400, "Invalid Authentication passed")
GRANT_TYPE = ErrorCode("400.008.02", 400, "Invalid grant type passed")
TOKEN_C2B = ErrorCode("400.003.01", 400, "Invalid Access Token")
TOKEN_B2C = ErrorCode("401.002.01", 401, "Error Occurred - Invalid Access Token")
TOKEN_STK = ErrorCode("404.001.03", 404, "Invalid Access Token")
TOKEN_PULL = ErrorCode("401.001", 401, "Invalid Access Token")
NO_PRODUCT = ErrorCode(
    "401.003.01",
    401,
    "Error Occurred - Invalid Access Token - Invalid API call as no apiproduct match found",
)
AUTH_HEADER = ErrorCode("404.001.04", 404, "Invalid Authentication Header")
NOT_FOUND = ErrorCode("404.001.01", 404, "Resource not found")
METHOD = ErrorCode("405.001", 405, "Method Not Allowed")
MERCHANT = ErrorCode("500.001.1001", 500, "Merchant does not exist")
WRONG_CREDENTIALS = ErrorCode("500.001.1001", 500, "Wrong credentials")
SUBSCRIBER_LOCKED = ErrorCode(
    "500.001.1001",
    500,
    "Unable to lock subscriber, a transaction is already in process for the current subscriber",
)
PROCESSING = ErrorCode("500.001.1001", 500, "The transaction is being processed")
DUPLICATE_ORIGINATOR = ErrorCode("500.002.1001", 500, "Duplicate OriginatorConversationID")
INTERNAL = ErrorCode("500.003.1001", 500, "Internal Server Error")
BUSY = ErrorCode("500.003.02", 500, "Spike Arrest Violation")
PULL_SHORTCODE = ErrorCode("400.001", 400, "Invalid ShortCode")


class DarajaError(Exception):
    """A request Daraja would refuse synchronously; answered in the error envelope."""

    def __init__(self, error: ErrorCode, message: str | None = None, request_id: str = "") -> None:
        super().__init__(message or error.message)
        self.error = error
        self.message = message or error.message
        self.request_id = request_id

    @classmethod
    def field(cls, name: str, detail: str | None = None) -> DarajaError:
        """``400.002.02 Bad Request - Invalid <name>``, and why when that helps (``: ...``)."""
        message = INVALID_FIELD.message.format(field=name)
        return cls(INVALID_FIELD, f"{message}: {detail}" if detail else message)


def request_id() -> str:
    """A ``requestId`` for an error answer, shaped like Daraja's (``16813-15-1``...)."""
    return f"{_random.randrange(10000, 100000)}-{_random.randrange(10**8)}-1"


def error_body(error: ErrorCode, message: str | None = None, rid: str = "") -> bytes:
    """The envelope for ``error`` as JSON bytes."""
    body = {
        "requestId": rid or request_id(),
        "errorCode": error.code,
        "errorMessage": message or error.message,
    }
    return json_text(body).encode()


def error_response(error: ErrorCode, message: str | None = None, rid: str = "") -> Response:
    """The envelope for ``error`` as an HTTP response."""
    return Response(
        error_body(error, message, rid), status_code=error.status, media_type="application/json"
    )


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON answer, written by ``json_text``."""
    return Response(json_text(body), status_code=status, media_type="application/json")


class Num(str):
    """A JSON number written exactly as given (``"1.00"``, ``"254708374149"``)."""

    __slots__ = ()


# A marker only this process knows: user text can never be mistaken for a number.
_MARK = uuid.uuid4().hex
_MARKED = re.compile(f'"{_MARK}(-?[0-9]+(?:\\.[0-9]+)?)"')


def _mark(value: Any) -> Any:
    if isinstance(value, Num):
        assert re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value), value
        return _MARK + value
    if isinstance(value, dict):
        return {key: _mark(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mark(item) for item in value]
    return value


def json_text(body: Any) -> str:
    """``body`` as compact JSON, ``Num`` values as bare number literals."""
    text = json.dumps(_mark(body), separators=(",", ":"), ensure_ascii=False)
    return _MARKED.sub(r"\1", text) if _MARK in text else text


def major(minor: int, scale: int = 2) -> Num:
    """Minor units as Daraja's decimal number: ``100`` -> ``1.00``."""
    assert type(minor) is int
    sign = "-" if minor < 0 else ""
    whole, part = divmod(abs(minor), 10**scale)
    return Num(f"{sign}{whole}.{part:0{scale}d}" if scale else f"{sign}{whole}")


def major_text(minor: int, scale: int = 2) -> str:
    """Minor units as Daraja's decimal text (``"1.00"``), for string fields."""
    return str.__str__(major(minor, scale))
