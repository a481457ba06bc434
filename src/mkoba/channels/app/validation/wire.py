"""The validation server's calls as they cross the bus: compact JSON, read strictly.

A request is ``{"id", "method", "args"}``; an answer is one of ``{"ok": result}``,
``{"refused": {"code", "message", "extra"}}`` (an ``AppRefused``, raised again on
the caller's side with the same code, hence the same status), ``{"busy": true}``
(the server's store could not commit: the channel answers busy) or ``{"failed":
"failed: <type>"}`` (an unexpected error; only its type crosses, as its text may
hold a secret). Every value is checked against the method's table (``METHODS``)
on the way in: anything else is a ``ValueError``, never a guess.

Encodings: a ``Device`` or ``ChargeRow`` is the list of its fields; a ``Payee`` the
list ``[kind, number, name, city, category]``; a ``PaymentCode`` the list ``[payee,
amount, reference, expiry (ns), token, signature]``; an ``IssuedCode`` ``[payload,
expires_ns, token]``; bytes (a request's body, a device key) base64url.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from mkoba.channels.app.keqr import Payee, PayeeKind, PaymentCode
from mkoba.channels.app.validation.charge_rows import ChargeRow
from mkoba.channels.app.validation.devices import Device
from mkoba.channels.app.validation.refusals import AppRefused
from mkoba.channels.app.validation.tokens import IssuedCode

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
call_id_chars_max = 64


class Codec(NamedTuple):
    """How one kind of value goes out (to JSON) and comes back in (checked)."""

    out: Callable[[Any], object]
    into: Callable[[object], Any]


def _same(value: object) -> object:
    return value


def _of(kind: type, what: str) -> Callable[[object], Any]:
    def into(value: object) -> Any:
        # bool is an int in Python, never in a call: a true amount is refused.
        if type(value) is not kind:
            raise ValueError(f"{what} expected")
        return value

    return into


TEXT = Codec(_same, _of(str, "a string"))
INT = Codec(_same, _of(int, "an integer"))
BOOL = Codec(_same, _of(bool, "true or false"))
NONE = Codec(lambda _: None, _of(type(None), "null"))


def optional(codec: Codec) -> Codec:
    """``codec``'s value, or None (JSON null)."""
    return Codec(
        lambda value: None if value is None else codec.out(value),
        lambda value: None if value is None else codec.into(value),
    )


def _fields(value: object, codecs: Sequence[Codec], what: str) -> list[Any]:
    if not isinstance(value, list) or len(value) != len(codecs):
        raise ValueError(f"{what}: a list of {len(codecs)} values expected")
    return [codec.into(one) for codec, one in zip(codecs, value, strict=True)]


def _values(value: Any) -> Sequence[object]:
    """A named tuple's or a dataclass's fields, in order (not recursing, as ``astuple`` does)."""
    if dataclasses.is_dataclass(value):
        return [getattr(value, one.name) for one in dataclasses.fields(value)]
    return tuple(value)


def row(kind: Callable[..., Any], codecs: Sequence[Codec], what: str) -> Codec:
    """A named tuple or a dataclass as the list of its fields."""
    return Codec(
        lambda value: [codec.out(one) for codec, one in zip(codecs, _values(value), strict=True)],
        lambda value: kind(*_fields(value, codecs, what)),
    )


def _bytes_in(value: object) -> bytes:
    text = TEXT.into(value)
    if not text.isascii():
        raise ValueError("base64url expected")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("base64url expected") from None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _key_out(key: bytes | str) -> str:
    """A device key as the contract carries it: SPKI DER in base64url (bytes are DER)."""
    return _b64url(key) if isinstance(key, bytes) else key


def _moment_out(moment: datetime) -> int:
    assert moment.tzinfo is not None, "an expiry is an aware datetime"
    return (moment - _EPOCH) // _MICROSECOND * 1000


def _moment_in(value: object) -> datetime:
    return _EPOCH + timedelta(microseconds=INT.into(value) // 1000)


BYTES = Codec(_b64url, _bytes_in)
KEY = Codec(_key_out, TEXT.into)  # the validator reads text keys as base64url SPKI
MOMENT = Codec(_moment_out, _moment_in)
KIND = Codec(lambda kind: kind.value, lambda value: PayeeKind(TEXT.into(value)))
DEVICE = row(Device, (TEXT, TEXT, TEXT, INT, TEXT, INT), "a device")
PAYEE = row(Payee, (KIND, TEXT, TEXT, TEXT, TEXT), "a payee")
CODE = row(
    PaymentCode,
    (PAYEE, optional(INT), optional(TEXT), optional(MOMENT), optional(TEXT), optional(TEXT)),
    "a payment code",
)
ISSUED = row(IssuedCode, (TEXT, INT, optional(TEXT)), "an issued code")
CHARGE = row(ChargeRow, (TEXT,) * 5 + (INT,) + (TEXT,) * 4 + (INT,) * 3, "a charge")


def pair(first: Codec, second: Codec) -> Codec:
    """A tuple of two values."""
    return row(lambda a, b: (a, b), (first, second), "a pair")


class Method(NamedTuple):
    """A call's arguments and its result, as they cross."""

    args: tuple[Codec, ...]
    result: Codec


# Every call the app channel makes on its validation server (``ValidationServer``).
METHODS: dict[str, Method] = {
    "enrol": Method((TEXT,), pair(TEXT, INT)),
    "check_code": Method((TEXT, TEXT), TEXT),
    "bind": Method((TEXT, KEY, TEXT), DEVICE),
    "end_bindings": Method((TEXT, TEXT), INT),
    "device": Method((TEXT,), optional(DEVICE)),
    "verify": Method((TEXT, TEXT, TEXT, TEXT, TEXT, BYTES), DEVICE),
    "issue": Method((DEVICE, optional(INT), TEXT, PAYEE), ISSUED),
    "check": Method((TEXT, DEVICE), CODE),
    "reserve": Method((TEXT, DEVICE, TEXT), CODE),
    "settle": Method((TEXT, TEXT, BOOL), NONE),
    "charges.issue": Method((DEVICE,), pair(TEXT, INT)),
    "charges.charge": Method((DEVICE, TEXT, INT, TEXT), CHARGE),
    "charges.take": Method((DEVICE, TEXT, TEXT), CHARGE),
    "charges.settle": Method((TEXT, TEXT, optional(TEXT)), CHARGE),
    "charges.decline": Method((DEVICE, TEXT), CHARGE),
    "charges.status": Method((DEVICE, TEXT), pair(CHARGE, TEXT)),
}


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def _object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"{what}: JSON expected") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what}: a JSON object expected")
    return value


def request_bytes(call_id: str, method: str, args: Sequence[object]) -> bytes:
    """A call of ``method`` with ``args``, under the caller's ``call_id``."""
    spec = METHODS[method]
    assert len(args) == len(spec.args), f"{method} takes {len(spec.args)} arguments"
    out = [codec.out(arg) for codec, arg in zip(spec.args, args, strict=True)]
    return _dumps({"id": call_id, "method": method, "args": out})


def request_from(data: bytes) -> tuple[str, str, list[Any]]:
    """The call's id, method and arguments; ``ValueError`` for anything malformed."""
    body = _object(data, "a call")
    if set(body) != {"id", "method", "args"}:
        raise ValueError("a call has an id, a method and args")
    call_id, method = body["id"], body["method"]
    if not (type(call_id) is str and 0 < len(call_id) <= call_id_chars_max):
        raise ValueError(f"a call's id is 1 to {call_id_chars_max} characters")
    if type(method) is not str or method not in METHODS:
        raise ValueError("no such method")
    return call_id, method, _fields(body["args"], METHODS[method].args, method)


def ok_bytes(method: str, result: object) -> bytes:
    """The answer: ``method``'s result."""
    return _dumps({"ok": METHODS[method].result.out(result)})


def refused_bytes(refusal: AppRefused) -> bytes:
    """The answer: the validation server refused (its code, message and extra)."""
    return _dumps(
        {"refused": {"code": refusal.code, "message": refusal.message, "extra": refusal.extra}}
    )


BUSY = _dumps({"busy": True})


def failed_bytes(why: str) -> bytes:
    """The answer: no result (``why`` is ours: an exception's type, never its text)."""
    return _dumps({"failed": why})


class Answer(NamedTuple):
    """An answer read back: ``kind`` is ok, refused, busy or failed."""

    kind: str
    value: Any


def answer_from(method: str, data: bytes) -> Answer:
    """The server's answer to a call of ``method``; ``ValueError`` if malformed."""
    body = _object(data, "an answer")
    if len(body) != 1:
        raise ValueError("an answer has one key")
    ((kind, value),) = body.items()
    if kind == "ok":
        return Answer(kind, METHODS[method].result.into(value))
    if kind == "refused":
        return Answer(kind, _refusal_in(value))
    if kind == "busy" and value is True:
        return Answer(kind, None)
    if kind == "failed":
        return Answer(kind, TEXT.into(value))
    raise ValueError("an answer is ok, refused, busy or failed")


def _refusal_in(value: object) -> AppRefused:
    if not isinstance(value, dict) or set(value) != {"code", "message", "extra"}:
        raise ValueError("a refusal has a code, a message and extra")
    code, message, extra = TEXT.into(value["code"]), TEXT.into(value["message"]), value["extra"]
    if not (code and message and isinstance(extra, dict)) or {"code", "message"} & set(extra):
        raise ValueError("a refusal has a code, a message and an object of extra")
    return AppRefused(code, message, **extra)
