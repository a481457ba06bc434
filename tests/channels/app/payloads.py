"""Payloads for the app channel's tests, written by hand (not by the code under test)."""

from __future__ import annotations

import binascii

# The EMVCo MPM specification's worked example (UnionPay, Beijing, with a Chinese name in
# template 64); the specification gives its CRC as A13A.
SPEC_EXAMPLE = (
    "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678"
    "520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.72"
    "53031565502016233030412340603***0708A60086670902ME91320016A011223344998877070812345678"
    "6304A13A"
)
# A Kenyan dynamic code (../shared/reference/channels.md §4.1), CRC 536A.
KENYAN_SAMPLE = (
    "00020101021229270013ke.example.mm01061743795204541153034045406150.005802KE"
    "5910MAMA MBOGA6007NAIROBI62100506INV0016304536A"
)


def crc(body: str) -> str:
    """CRC-16/CCITT-FALSE of ``body`` (which ends with ``6304``), straight from the stdlib."""
    return f"{binascii.crc_hqx(body.encode('utf-8'), 0xFFFF):04X}"


def obj(object_id: str, value: str) -> str:
    """One object, its length counted in characters."""
    return f"{object_id}{len(value):02d}{value}"


def raw(*objects: tuple[str, str]) -> str:
    """A payload of ``objects`` in the order given, with a correct CRC appended."""
    body = "".join(obj(object_id, value) for object_id, value in objects) + "6304"
    return body + crc(body)


def with_crc(text: str) -> str:
    """``text`` (a payload) with its CRC recomputed, as someone altering a code would."""
    body = text[:-4]
    return body + crc(body)


KENYAN_OBJECTS: tuple[tuple[str, str], ...] = (
    ("00", "01"),
    ("01", "12"),
    ("29", "0013ke.example.mm0106174379"),
    ("52", "5411"),
    ("53", "404"),
    ("54", "150.00"),
    ("58", "KE"),
    ("59", "MAMA MBOGA"),
    ("60", "NAIROBI"),
    ("62", "0506INV001"),
)


def kenyan(**changes: str | None) -> str:
    """The Kenyan sample with fields replaced (``f59="X"``) or removed (``f54=None``)."""
    objects = []
    for object_id, value in KENYAN_OBJECTS:
        key = f"f{object_id}"
        if key not in changes:
            objects.append((object_id, value))
        elif (changed := changes[key]) is not None:
            objects.append((object_id, changed))
    return raw(*objects)
