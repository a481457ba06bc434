"""EMVCo merchant-presented QR payloads as data objects: ``ID(2) | LEN(2) | VALUE``.

This module knows the envelope only: how objects are written and split, which IDs
exist, which are templates (whose value is itself a list of objects), that ``00``
comes first and ``63`` (the CRC) last, and the CRC itself. What the values mean is
``emvco``'s business.

Following the EMVCo MPM specification:

- IDs and lengths are two decimal digits; a value has 1 to 99 characters.
- Lengths count characters, not bytes (the spec's example has a Chinese merchant
  name in template 64 whose length is its number of characters).
- The CRC is CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF) of the
  UTF-8 payload up to and including the literal ``6304``, as four uppercase hex
  digits: ``binascii.crc_hqx(payload, 0xFFFF)``.
- Templates are 26-51 (merchant account information), 62 (additional data),
  64 (merchant information in another language) and 80-99 (unreserved); 65-79
  are reserved for EMVCo and refused.

Only template 64's values may hold characters beyond printable ASCII; every value
must be printable text (no control characters, nothing a database cannot store).
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mkoba.channels.app.refusal import QrRefused, Refusal

# EMVCo: a payload has at most 512 characters (and so fits a version-40 QR easily).
payload_chars_max = 512
value_chars_max = 99
crc_id = "63"
format_indicator_id = "00"
language_template_id = "64"
_CRC_HEADER = crc_id + "04"
_CRC_CHARS = 4

TEMPLATE_IDS = frozenset(
    [f"{number:02d}" for number in range(26, 52)]
    + ["62", language_template_id]
    + [f"{number:02d}" for number in range(80, 100)]
)
# 00-64 are assigned by the spec (02-25 to card networks as primitive values); 65-79
# are reserved for EMVCo's future use; 80-99 are free for private templates.
TOP_LEVEL_IDS = frozenset(
    [f"{number:02d}" for number in range(0, 65)] + [f"{number:02d}" for number in range(80, 100)]
)


@dataclass(frozen=True, slots=True)
class DataObject:
    """One object: a two-digit ID and either text or, for a template, its objects."""

    id: str
    value: str | tuple[DataObject, ...]

    def text(self) -> str:
        """The value of a primitive object (a bug to ask it of a template)."""
        assert isinstance(self.value, str), f"object {self.id} is a template"
        return self.value

    def objects(self) -> tuple[DataObject, ...]:
        """The objects of a template (a bug to ask it of a primitive object)."""
        assert isinstance(self.value, tuple), f"object {self.id} is not a template"
        return self.value


def find(objects: Iterable[DataObject], object_id: str) -> DataObject | None:
    """The object with ``object_id``, or ``None``."""
    for data_object in objects:
        if data_object.id == object_id:
            return data_object
    return None


def crc16(text: str) -> str:
    """CRC-16/CCITT-FALSE of ``text`` (UTF-8) as four uppercase hex digits."""
    return f"{binascii.crc_hqx(text.encode('utf-8'), 0xFFFF):04X}"


# Writing -----------------------------------------------------------------------------


def _write(data_object: DataObject, *, ascii_only: bool) -> str:
    if isinstance(data_object.value, tuple):
        value = "".join(_write(sub, ascii_only=ascii_only) for sub in data_object.value)
    else:
        value = data_object.value
    _check_id(data_object.id)
    _check_length(data_object.id, value)
    _check_text(data_object.id, value, ascii_only=ascii_only)
    return f"{data_object.id}{len(value):02d}{value}"


def encode_objects(objects: Sequence[DataObject]) -> str:
    """The payload for ``objects`` (``00`` first, no ``63``), with its CRC appended.

    Raises ``QrRefused`` for an ID, length or character the format does not allow;
    ``parse_objects`` of the result gives ``objects`` back.
    """
    assert objects and objects[0].id == format_indicator_id, "00 comes first"
    assert all(data_object.id != crc_id for data_object in objects), "63 is added here"
    _check_top_level(objects)
    body = "".join(
        _write(data_object, ascii_only=data_object.id != language_template_id)
        for data_object in objects
    )
    body += _CRC_HEADER
    payload = body + crc16(body)
    if len(payload) > payload_chars_max:
        raise QrRefused(
            Refusal.INVALID,
            f"the code would have {len(payload)} characters; at most {payload_chars_max}",
        )
    return payload


# Reading -----------------------------------------------------------------------------


def _check_id(object_id: str) -> None:
    if not (len(object_id) == 2 and object_id.isascii() and object_id.isdigit()):
        raise QrRefused(Refusal.MALFORMED, "an ID is not two digits")


def _check_length(object_id: str, value: str) -> None:
    if not 1 <= len(value) <= value_chars_max:
        raise QrRefused(
            Refusal.MALFORMED,
            f"field {object_id} has {len(value)} characters; 1 to {value_chars_max} allowed",
        )


def _check_text(object_id: str, value: str, *, ascii_only: bool) -> None:
    # isprintable() refuses control and format characters, lone surrogates (which
    # UTF-8 cannot carry) and unassigned code points; a NUL never reaches PostgreSQL.
    if not value.isprintable():
        raise QrRefused(
            Refusal.MALFORMED, f"field {object_id} holds a control or invisible character"
        )
    if ascii_only and not value.isascii():
        raise QrRefused(
            Refusal.MALFORMED, f"field {object_id} holds characters other than plain ASCII"
        )


def _split(text: str, where: str) -> list[tuple[str, str]]:
    """``(id, value)`` pairs of ``text``; refuses a header or length that does not fit."""
    pairs: list[tuple[str, str]] = []
    position = 0
    # Each object takes at least five characters: the loop is bounded by len(text) / 5.
    while position < len(text):
        header = text[position : position + 4]
        if len(header) < 4 or not (header.isascii() and header.isdigit()):
            raise QrRefused(
                Refusal.MALFORMED, f"{where}: no ID and length at character {position + 1}"
            )
        object_id, length = header[:2], int(header[2:])
        value = text[position + 4 : position + 4 + length]
        if length == 0 or len(value) != length:
            raise QrRefused(
                Refusal.MALFORMED, f"{where}: field {object_id}'s length {length:02d} is wrong"
            )
        pairs.append((object_id, value))
        position += 4 + length
    assert position == len(text)
    assert len(pairs) <= len(text) // 5
    return pairs


def _no_duplicates(ids: Sequence[str], where: str) -> None:
    seen: set[str] = set()
    for object_id in ids:
        if object_id in seen:
            raise QrRefused(Refusal.MALFORMED, f"{where}: field {object_id} appears twice")
        seen.add(object_id)


def _check_top_level(objects: Sequence[DataObject]) -> None:
    ids = [data_object.id for data_object in objects]
    _no_duplicates(ids, "the code")
    for data_object in objects:
        _check_id(data_object.id)
        if data_object.id not in TOP_LEVEL_IDS:
            raise QrRefused(Refusal.MALFORMED, f"field {data_object.id} is reserved by EMVCo")
        is_template = isinstance(data_object.value, tuple)
        if is_template != (data_object.id in TEMPLATE_IDS):
            kind = "a template" if data_object.id in TEMPLATE_IDS else "a plain value"
            raise QrRefused(Refusal.MALFORMED, f"field {data_object.id} must be {kind}")
        if is_template:
            where = f"template {data_object.id}"
            _no_duplicates([sub.id for sub in data_object.objects()], where)
            for sub in data_object.objects():
                if not isinstance(sub.value, str):
                    raise QrRefused(Refusal.MALFORMED, f"{where}: templates nest one level")


def _template(object_id: str, value: str) -> DataObject:
    where = f"template {object_id}"
    ascii_only = object_id != language_template_id
    objects = []
    for sub_id, sub_value in _split(value, where):
        _check_text(f"{object_id}/{sub_id}", sub_value, ascii_only=ascii_only)
        objects.append(DataObject(sub_id, sub_value))
    return DataObject(object_id, tuple(objects))


def _check_crc(text: str) -> None:
    if text[-8:-4] != _CRC_HEADER:
        raise QrRefused(Refusal.MALFORMED, "the code does not end with its check digits (63)")
    expected = crc16(text[:-4])
    if text[-4:] != expected:
        raise QrRefused(
            Refusal.CHECKSUM,
            "the code's check digits do not match: it was altered or misread; scan it again",
        )


def parse_objects(text: str) -> tuple[DataObject, ...]:
    """The objects of a payload, CRC checked and removed; templates split one level.

    Raises ``QrRefused``: ``CHECKSUM`` when the CRC does not match, ``MALFORMED`` for
    anything else that is not an EMVCo payload.
    """
    if not isinstance(text, str) or not text:
        raise QrRefused(Refusal.MALFORMED, "the code is empty")
    if len(text) > payload_chars_max:
        raise QrRefused(Refusal.MALFORMED, f"the code has more than {payload_chars_max} characters")
    if not text.isprintable():
        raise QrRefused(Refusal.MALFORMED, "the code holds a control or invisible character")
    _check_crc(text)
    pairs = _split(text, "the code")
    if pairs[0][0] != format_indicator_id:
        raise QrRefused(Refusal.MALFORMED, "the code does not start with field 00")
    crc_positions = [index for index, (object_id, _) in enumerate(pairs) if object_id == crc_id]
    if crc_positions != [len(pairs) - 1]:
        raise QrRefused(Refusal.MALFORMED, "field 63 (the check digits) must be last, once")
    objects = []
    for object_id, value in pairs[:-1]:
        _check_id(object_id)
        if object_id in TEMPLATE_IDS:
            objects.append(_template(object_id, value))
        else:
            _check_text(object_id, value, ascii_only=True)
            objects.append(DataObject(object_id, value))
    _check_top_level(objects)
    return tuple(objects)
