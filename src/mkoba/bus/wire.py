"""Requests and responses as bytes, for a bus that crosses processes.

A request travels as JSON with its deadline (wall clock, ns): past it, the
channel has already told the user the system was busy, so TranProc must not
act on it. A sealed PIN travels as its encrypted blob (base64); the clear PIN
never exists outside the channel that took it and TranProc. A request from a
front also names the row batches it must follow (``order.py``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from mkoba.commands import BadCommand, from_wire
from mkoba.parties.secrets import SealedPin
from mkoba.processor.request import Callback, Channel, Request, Response, Staff

# The most row batches one request may follow (a front has a few in flight at a time).
after_max = 4096


class WireError(ValueError):
    """Bytes that are not a request (or a response) of this format."""


def request_bytes(
    request: Request, deadline_ns: int, reply: str = "", after: Sequence[str] = ()
) -> bytes:
    """``request``, the moment after which nobody waits for its answer, and where it goes.

    ``after``: the row batches TranProc must have queued before it decides this one.
    """
    pin = _sealed(request.pin)
    body: dict[str, object] = {
        "id": request.id,
        "channel": str(request.channel),
        "product": request.product,
        "msisdn": request.msisdn,
        "command": request.command.wire(),
        "pin": pin,
        "received": request.received,
        "phone": request.phone_verified,
        "deadline": deadline_ns,
        "reply": reply,
    }
    if request.callback is not None:
        body["callback"] = list(request.callback)
    if request.new_pin is not None:
        body["new_pin"] = _sealed(request.new_pin)
    if request.otp is not None:
        body["otp"] = _sealed(request.otp)
    if request.staff is not None:
        staff = request.staff
        body["staff"] = [staff.maker, staff.role, staff.checker, list(staff.phones)]
    if after:
        body["after"] = list(after)
    return json.dumps(body, separators=(",", ":")).encode()


def request_from(data: bytes) -> tuple[Request, int, str]:
    """A request, its deadline (ns) and its answer's subject ("": none), or ``WireError``."""
    request, deadline, reply, _ = request_after(data)
    return request, deadline, reply


def request_after(data: bytes) -> tuple[Request, int, str, list[str]]:
    """``request_from``, and the row batches the request must follow, or ``WireError``."""
    try:
        body: Any = json.loads(data)
        product = _text(body["product"])
        try:
            command = from_wire(product, body["command"])
        except BadCommand as bad:
            raise WireError(f"not a {product} command: {bad.message}") from None
        request = Request(
            _text(body["id"]),
            Channel(body["channel"]),
            product,
            _text(body["msisdn"]),
            command,
            _unseal(body["pin"]),
            _number(body["received"]),
            body.get("phone", False) is True,
            _callback(body.get("callback")),
            _unseal(body.get("new_pin")),
            _staff(body.get("staff")),
            _unseal(body.get("otp")),
        )
        after = body.get("after", [])
        if not isinstance(after, list) or len(after) > after_max:
            raise WireError("after must be a short list of batch ids")
        batches = [_text(batch) for batch in after]
        return request, _number(body["deadline"]), _text(body.get("reply", "")), batches
    except WireError:
        raise
    except (ValueError, KeyError, TypeError, binascii.Error) as problem:
        raise WireError(f"not a request: {type(problem).__name__}") from None


def response_bytes(response: Response) -> bytes:
    """A response, in the form replays store (keys in order)."""
    return response.to_json().encode()


def response_from(data: bytes) -> Response:
    """A response, or ``WireError``."""
    try:
        return Response.from_json(data.decode())
    except (ValueError, KeyError, TypeError) as problem:
        raise WireError(f"not a response: {type(problem).__name__}") from None


def _sealed(pin: SealedPin | None) -> str | None:
    return base64.b64encode(pin.blob).decode() if pin is not None else None


def _unseal(value: object) -> SealedPin | None:
    if value is None:
        return None
    return SealedPin(base64.b64decode(_text(value), validate=True))


def _callback(value: object) -> Callback | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != len(Callback._fields):
        raise WireError("callback must be a list of its three texts")
    return Callback(*(_text(part) for part in value))


def _staff(value: object) -> Staff | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != len(Staff._fields):
        raise WireError("staff must be a list of maker, role, checker and phones")
    maker, role, checker, phones = value
    if not isinstance(phones, list):
        raise WireError("staff phones must be a list")
    return Staff(_text(maker), _text(role), _text(checker), tuple(_text(p) for p in phones))


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise WireError("expected a string")
    return value


def _number(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise WireError("expected an integer")
    return value
