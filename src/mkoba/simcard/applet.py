"""What the SIM applet puts inside a command packet, and what it reads in the answer.

Compact and binary, as a SIM's few kilobytes want: a format version byte, then
TLVs (a tag byte, a length byte, the value). A request (TAR ``4D4B01``)::

    01 | 01 len product | 02 len (name-length name value)* | 03 len PIN | 04 02 menu-version

- ``01`` product: the product's name (``send_money``), ASCII ``a-z`` and ``_``; once.
- ``02`` field: a length byte and the field's name (as the product's command
  names it), then its value, UTF-8 text the store can hold (``mkoba.text``);
  names unique, at most ``fields_max``.
- ``03`` PIN: 4 to 6 ASCII digits, typed on the SIM; at most once (``balance``
  without one is TranProc's to refuse, not the format's).
- ``04`` menu version: two bytes, big-endian, the menu the SIM runs; once.

An answer (in the response packet, after the answered counter)::

    01 | 81 len code | 82 len message | 83 len receipt

with TranProc's result code, the message as the user reads it (UTF-8, cut at a
character boundary to ``value_max`` bytes) and the receipt when there is one.

Decoding is strict: an unknown tag, a tag twice, a value over its limit, bytes
after the last TLV, a PIN that is not digits, text the store cannot hold are
all ``MalformedRequest`` (PoR '05'). The PIN is clear only inside the sealed
packet and in ``AppletRequest.pin``, a ``Pin`` whose repr says nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mkoba.parties import Pin
from mkoba.simcard.refusals import MalformedRequest
from mkoba.text import text_problem

FORMAT = 0x01
TAG_PRODUCT = 0x01
TAG_FIELD = 0x02
TAG_PIN = 0x03
TAG_MENU = 0x04
TAG_CODE = 0x81
TAG_MESSAGE = 0x82
TAG_RECEIPT = 0x83
value_max = 255  # one length byte
name_max = 32
field_value_max = 160
fields_max = 8
_NAME = re.compile(rb"^[a-z][a-z_]{0,31}\Z")
_ANSWER_TAGS = frozenset({TAG_CODE, TAG_MESSAGE, TAG_RECEIPT})


@dataclass(frozen=True, slots=True)
class AppletRequest:
    """A decoded request: what the SIM asks, with the PIN it took (never in the repr)."""

    product: str
    fields: dict[str, str]
    menu_version: int
    pin: Pin | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Answer:
    """TranProc's answer as the SIM shows it."""

    code: str
    message: str
    receipt: str = ""


def encode_request(
    product: str, fields: dict[str, str], pin: str | None, menu_version: int
) -> bytes:
    """The request bytes the applet builds (``ValueError`` for what decoding refuses)."""
    out = bytearray((FORMAT,))
    _tlv(out, TAG_PRODUCT, product.encode("ascii"))
    for name, value in fields.items():
        raw_name = name.encode("ascii")
        _tlv(out, TAG_FIELD, bytes((len(raw_name),)) + raw_name + value.encode("utf-8"))
    if pin is not None:
        _tlv(out, TAG_PIN, pin.encode("ascii"))
    _tlv(out, TAG_MENU, menu_version.to_bytes(2, "big"))
    return bytes(out)


def decode_request(data: bytes) -> AppletRequest:
    """The request in a command packet's data, or ``MalformedRequest`` saying why not."""
    product: str | None = None
    fields: dict[str, str] = {}
    pin: Pin | None = None
    menu: int | None = None
    seen: set[int] = set()
    for tag, value in _tlvs(data):
        if tag != TAG_FIELD and tag in seen:
            raise MalformedRequest("a tag appears twice")
        seen.add(tag)
        if tag == TAG_PRODUCT:
            product = _name(value, "the product name is malformed")
        elif tag == TAG_FIELD:
            name, text = _field(value)
            if name in fields:
                raise MalformedRequest("a field appears twice")
            if len(fields) == fields_max:
                raise MalformedRequest("the request has too many fields")
            fields[name] = text
        elif tag == TAG_PIN:
            pin = _pin(value)
        elif tag == TAG_MENU:
            if len(value) != 2:
                raise MalformedRequest("the menu version is malformed")
            menu = int.from_bytes(value, "big")
        else:
            raise MalformedRequest("the request has an unknown tag")
    if product is None or menu is None:
        raise MalformedRequest("the request lacks its product or menu version")
    return AppletRequest(product, fields, menu, pin)


def encode_answer(answer: Answer) -> bytes:
    """The answer bytes the server seals into the response."""
    out = bytearray((FORMAT,))
    _tlv(out, TAG_CODE, answer.code.encode("ascii"))
    _tlv(out, TAG_MESSAGE, _cut(answer.message))
    if answer.receipt:
        _tlv(out, TAG_RECEIPT, answer.receipt.encode("ascii"))
    return bytes(out)


def decode_answer(data: bytes) -> Answer:
    """The answer in a response's data (the SIM's side); ``MalformedRequest`` if not one."""
    values: dict[int, str] = {}
    for tag, value in _tlvs(data):
        if tag not in _ANSWER_TAGS or tag in values:
            raise MalformedRequest("the answer has an unknown or repeated tag")
        values[tag] = _text(value)
    if TAG_CODE not in values or TAG_MESSAGE not in values:
        raise MalformedRequest("the answer lacks its code or message")
    return Answer(values[TAG_CODE], values[TAG_MESSAGE], values.get(TAG_RECEIPT, ""))


def _tlvs(data: bytes) -> list[tuple[int, bytes]]:
    if not data or data[0] != FORMAT:
        raise MalformedRequest("the format version is unknown")
    found, at = [], 1
    while at < len(data):
        if at + 2 > len(data):
            raise MalformedRequest("a TLV is cut short")
        tag, length = data[at], data[at + 1]
        end = at + 2 + length
        if end > len(data):
            raise MalformedRequest("a TLV is cut short")
        found.append((tag, data[at + 2 : end]))
        at = end
    return found


def _tlv(out: bytearray, tag: int, value: bytes) -> None:
    if len(value) > value_max:
        raise ValueError("a value is at most 255 bytes")
    out += bytes((tag, len(value))) + value


def _name(value: bytes, detail: str) -> str:
    if not _NAME.match(value):
        raise MalformedRequest(detail)
    return value.decode("ascii")


def _field(value: bytes) -> tuple[str, str]:
    if not value or value[0] + 1 > len(value):
        raise MalformedRequest("a field is cut short")
    name = _name(value[1 : 1 + value[0]], "a field name is malformed")
    raw = value[1 + value[0] :]
    if len(raw) > field_value_max:
        raise MalformedRequest("a field value is too long")
    return name, _text(raw)


def _text(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("a value is not UTF-8 text") from None
    if text_problem(text) is not None:
        raise MalformedRequest("a value holds a character the store cannot hold")
    return text


def _pin(value: bytes) -> Pin:
    try:
        return Pin(value.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedRequest("the PIN is not 4 to 6 digits") from None


def _cut(message: str) -> bytes:
    raw = message.encode("utf-8")
    if len(raw) <= value_max:
        return raw
    return raw[:value_max].decode("utf-8", "ignore").encode("utf-8")
