"""An STK payment prompt pushed to a SIM, and the SIM's answer to it.

Daraja's STK push reaches a customer whose line has the SIM channel as a
secured push: an MT command packet on the prompt TAR (``4D4B03``), no proof of
receipt asked (the SIM's answer is the receipt). Its data: format byte ``01``,
then TLVs (tag, one length byte, value):

| tag | value |
|---|---|
| ``01`` | the checkout request id, ASCII, 1-64 |
| ``02`` | the text the SIM shows ("Pay Ksh100.00 to ..."), UTF-8, 1-200 bytes |
| ``03`` | seconds left to answer, 2 bytes big-endian |

The SIM shows it, takes the PIN (or Cancel) and answers with an applet request
(``applet.py``) on the transactions TAR: product ``stk_answer``, field
``checkout`` the id, the PIN (none: the customer cancelled).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mkoba.simcard.refusals import MalformedRequest

FORMAT = 0x01
TAG_CHECKOUT = 0x01
TAG_TEXT = 0x02
TAG_EXPIRES = 0x03
PRODUCT = "stk_answer"  # the applet request that answers a prompt
FIELD = "checkout"
text_bytes_max = 200
_CHECKOUT = re.compile(rb"^[A-Za-z0-9_.:-]{1,64}\Z")


@dataclass(frozen=True, slots=True)
class PushedPrompt:
    """A payment prompt as the SIM shows it."""

    checkout_id: str
    text: str
    expires_in_s: int


def encode(prompt: PushedPrompt) -> bytes:
    """The push's data (``ValueError`` for what ``decode`` would refuse)."""
    checkout = prompt.checkout_id.encode("ascii")
    text = prompt.text.encode("utf-8")
    if not _CHECKOUT.match(checkout) or not 0 < len(text) <= text_bytes_max:
        raise ValueError("a prompt's checkout id or text does not fit")
    seconds = max(0, min(prompt.expires_in_s, 0xFFFF)).to_bytes(2, "big")
    out = bytearray((FORMAT,))
    for tag, value in ((TAG_CHECKOUT, checkout), (TAG_TEXT, text), (TAG_EXPIRES, seconds)):
        out += bytes((tag, len(value))) + value
    return bytes(out)


def decode(data: bytes) -> PushedPrompt:
    """The prompt in a push's data, or ``MalformedRequest`` (the SIM's side)."""
    if not data or data[0] != FORMAT:
        raise MalformedRequest("a prompt has an unknown format")
    values: dict[int, bytes] = {}
    at = 1
    while at < len(data):
        if at + 2 > len(data) or at + 2 + data[at + 1] > len(data):
            raise MalformedRequest("a prompt is cut short")
        tag, value = data[at], data[at + 2 : at + 2 + data[at + 1]]
        if tag not in (TAG_CHECKOUT, TAG_TEXT, TAG_EXPIRES) or tag in values:
            raise MalformedRequest("a prompt has an unknown or repeated tag")
        values[tag] = value
        at += 2 + len(value)
    checkout, raw_text = values.get(TAG_CHECKOUT, b""), values.get(TAG_TEXT, b"")
    seconds = values.get(TAG_EXPIRES, b"")
    if not _CHECKOUT.match(checkout) or not raw_text or len(seconds) != 2:
        raise MalformedRequest("a prompt lacks its checkout id, text or time")
    try:
        text = raw_text.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("a prompt's text is not UTF-8") from None
    return PushedPrompt(checkout.decode("ascii"), text, int.from_bytes(seconds, "big"))
