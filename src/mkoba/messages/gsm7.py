"""The GSM 03.38 alphabet: which texts fit GSM-7, how long they are, and their bytes.

SMS and USSD texts travel in GSM-7 when every character is in the default
alphabet (extension characters such as ``{`` or ``€`` cost two septets: an
escape and the character); anything else forces UCS-2, which halves what fits.
"""

from __future__ import annotations

import unicodedata

# The default alphabet, by code point 0x00..0x7F (0x1B is the escape to the extension table).
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: character -> code after the escape.
EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
ESCAPE = 0x1B
assert len(BASIC) == 128
_CODE = {char: index for index, char in enumerate(BASIC) if index != ESCAPE}


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` has a GSM-7 code."""
    return all(char in _CODE or char in EXTENSION for char in text)


def septets(text: str) -> int:
    """How many septets ``text`` takes in GSM-7 (it must be GSM-7)."""
    return sum(2 if char in EXTENSION else 1 for char in text)


def encode(text: str) -> bytes:
    """One byte per septet (unpacked, as SMPP's data_coding 0 carries it)."""
    out = bytearray()
    for char in text:
        code = _CODE.get(char)
        if code is not None:
            out.append(code)
            continue
        extended = EXTENSION.get(char)
        if extended is None:
            raise ValueError(f"{char!r} has no GSM-7 code")
        out += bytes((ESCAPE, extended))
    return bytes(out)


_DECODE_EXTENSION = {code: char for char, code in EXTENSION.items()}


def decode(data: bytes) -> str:
    """The text of unpacked GSM-7 bytes (unknown escapes read as a space, as handsets do)."""
    out = []
    escaped = False
    for byte in data:
        if escaped:
            out.append(_DECODE_EXTENSION.get(byte, " "))
            escaped = False
        elif byte == ESCAPE:
            escaped = True
        else:
            out.append(BASIC[byte & 0x7F])
    return "".join(out)


def plain(text: str) -> str:
    """``text`` in GSM-7's basic alphabet: accents dropped where that keeps the letter.

    Used for names and other values put into USSD screens, which must stay
    GSM-7 (a screen is not UCS-2), e.g. ``Zoë`` becomes ``Zoe``; a character
    with no equivalent becomes ``?``.
    """
    out = []
    for char in text:
        if char in _CODE and char not in "\r\x1b":
            out.append(char)
            continue
        stripped = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        out.append(stripped if stripped and all(c in _CODE for c in stripped) else "?")
    return "".join(out)
