"""An SMS text as submit_sm parts: GSM-7 when it can, UCS-2 when it must, concatenated.

A GSM-7 message holds 160 septets alone, 153 per part when concatenated; UCS-2
holds 70 UTF-16 units, 67 per part. Parts carry the 8-bit-reference UDH
(``05 00 03 ref total seq``) with esm_class 0x40. A split never cuts an escape
pair (GSM-7 extension characters) nor a surrogate pair (UCS-2).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

from mkoba.messages import gsm7

DATA_CODING_GSM7 = 0x00
DATA_CODING_UCS2 = 0x08
ESM_CLASS_UDHI = 0x40
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
# A message longer than this many parts is refused rather than sent.
parts_max = 10
_references = itertools.count(1)


class Part(NamedTuple):
    """One submit_sm's worth of a message."""

    short_message: bytes
    data_coding: int
    esm_class: int


class TooLong(ValueError):
    """A message that would take more than ``parts_max`` SMS."""


def parts(text: str, reference: int | None = None) -> list[Part]:
    """``text`` as the submit_sm payloads that carry it."""
    if gsm7.is_gsm7(text):
        chunks = _gsm7_chunks(text)
        encoded = [gsm7.encode(chunk) for chunk in chunks]
        coding = DATA_CODING_GSM7
    else:
        chunks = _ucs2_chunks(text)
        encoded = [chunk.encode("utf-16-be") for chunk in chunks]
        coding = DATA_CODING_UCS2
    if len(encoded) == 1:
        return [Part(encoded[0], coding, 0)]
    if len(encoded) > parts_max:
        raise TooLong(f"{len(encoded)} parts; at most {parts_max}")
    ref = (next(_references) if reference is None else reference) % 256
    total = len(encoded)
    return [
        Part(bytes((5, 0, 3, ref, total, seq)) + body, coding, ESM_CLASS_UDHI)
        for seq, body in enumerate(encoded, start=1)
    ]


def _gsm7_chunks(text: str) -> list[str]:
    if gsm7.septets(text) <= GSM7_SINGLE:
        return [text]
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        size = gsm7.septets(char)
        if used + size > GSM7_PART:
            chunks.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += size
    chunks.append("".join(current))
    return chunks


def _units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _ucs2_chunks(text: str) -> list[str]:
    if sum(_units(char) for char in text) <= UCS2_SINGLE:
        return [text]
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        size = _units(char)
        if used + size > UCS2_PART:
            chunks.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += size
    chunks.append("".join(current))
    return chunks


def decode(short_message: bytes, data_coding: int, esm_class: int) -> str:
    """The text of an inbound short message (its UDH, if any, skipped)."""
    body = short_message
    if esm_class & ESM_CLASS_UDHI and body:
        body = body[1 + body[0] :]
    coding = data_coding & 0x0F
    if coding == DATA_CODING_UCS2:
        return body.decode("utf-16-be", errors="replace")
    if coding in (0x01, 0x03):  # IA5 (ASCII), Latin-1
        return body.decode("latin-1")
    return gsm7.decode(body)
