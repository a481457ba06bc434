"""What every USSD gateway adapter turns its traffic into, and back.

Gateways differ in wire format (Africa's Talking posts a form with the whole
input path joined by ``*``; Hubtel and Nalo post JSON with only the last input)
but not in meaning. A codec turns a gateway's request into a ``UssdEvent`` and
a ``Screen`` into the gateway's answer; the menu engine sees only these.
"""

from __future__ import annotations

import enum
from typing import NamedTuple, Protocol

# Gateways' session ids are opaque; we bound them because they become part of request ids.
session_id_length_max = 100


class UssdEvent(NamedTuple):
    """One hop of a USSD session, as every gateway means it."""

    gateway: str
    session_id: str
    msisdn: str
    service_code: str
    network: str
    # Cumulative gateways (Africa's Talking) give the whole input path of the session...
    path: tuple[str, ...] | None = None
    # ...others give only the latest input (None on the dial itself).
    latest: str | None = None


class Screen(NamedTuple):
    """What the handset shows: text, and whether the session waits for an answer."""

    text: str
    more: bool

    @classmethod
    def ask(cls, text: str) -> Screen:
        """A screen that waits for input (CON)."""
        return cls(text, True)

    @classmethod
    def end(cls, text: str) -> Screen:
        """A final screen (END)."""
        return cls(text, False)


class Ending(enum.StrEnum):
    """How a session ended, per the gateway's end-of-session notification."""

    SUCCESS = "success"
    INCOMPLETE = "incomplete"
    FAILED = "failed"


class SessionEnd(NamedTuple):
    """A gateway's notice that a session is over (no answer expected but 200)."""

    gateway: str
    session_id: str
    ending: Ending
    hops: int
    duration_ms: int
    error: str
    # The phone whose session it is: only that phone's notice ends it ("" when not given).
    msisdn: str = ""


class BadRequest(ValueError):
    """A gateway request we cannot read; the message says which field and why."""


class Codec(Protocol):
    """One gateway's wire format."""

    name: str
    # The media type of answers.
    media_type: str

    def event(self, body: bytes, content_type: str) -> UssdEvent:
        """The event in a hop request; ``BadRequest`` when it cannot be read."""
        ...

    def answer(self, screen: Screen) -> bytes:
        """The hop's answer body."""
        ...

    def ending(self, body: bytes, content_type: str) -> SessionEnd:
        """The end-of-session notification; ``BadRequest`` when it cannot be read."""
        ...
