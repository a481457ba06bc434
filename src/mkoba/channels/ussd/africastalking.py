"""The Africa's Talking USSD callback convention (the de-facto one in East and West Africa).

A hop is a form POST of ``sessionId, serviceCode, phoneNumber, networkCode,
text``, where ``text`` is every input of the session joined with ``*`` (empty
on the dial). The answer is ``text/plain``: ``CON <screen>`` keeps the
session open, ``END <screen>`` closes it. When the session is over, a second
URL receives ``sessionId, status (Success|Incomplete|Failed), hopsCount,
durationInMillis, errorMessage, input, lastAppResponse...``; ``input`` holds the
user's keys in clear (PINs included), so it is never read, kept or logged.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from mkoba.channels.ussd.gateway import (
    BadRequest,
    Ending,
    Screen,
    SessionEnd,
    UssdEvent,
    session_id_length_max,
)

# A form body larger than this is not a USSD hop.
body_bytes_max = 8192
_ENDINGS = {"success": Ending.SUCCESS, "incomplete": Ending.INCOMPLETE, "failed": Ending.FAILED}


def _form(body: bytes, content_type: str) -> dict[str, str]:
    if "application/x-www-form-urlencoded" not in content_type:
        raise BadRequest("send application/x-www-form-urlencoded")
    if len(body) > body_bytes_max:
        raise BadRequest("the request is too large")
    try:
        fields = parse_qs(body.decode("ascii"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise BadRequest("the form is not ASCII") from None
    return {name: values[-1] for name, values in fields.items()}


def _session_id(form: dict[str, str]) -> str:
    session_id = form.get("sessionId", "").strip()
    if not session_id:
        raise BadRequest("sessionId is required")
    if len(session_id) > session_id_length_max or not session_id.isprintable():
        raise BadRequest("sessionId is not a session id")
    return session_id


class AfricasTalking:
    """The codec for Africa's Talking (and the gateways that copy its contract)."""

    name = "at"
    media_type = "text/plain; charset=utf-8"

    def event(self, body: bytes, content_type: str) -> UssdEvent:
        """The hop in a callback form."""
        form = _form(body, content_type)
        msisdn = form.get("phoneNumber", "").strip()
        if not msisdn:
            raise BadRequest("phoneNumber is required")
        text = form.get("text", "")
        path = tuple(text.split("*")) if text else ()
        return UssdEvent(
            self.name,
            _session_id(form),
            msisdn,
            form.get("serviceCode", "").strip(),
            form.get("networkCode", "").strip(),
            path=path,
        )

    def answer(self, screen: Screen) -> bytes:
        """``CON`` or ``END`` and the screen."""
        return (("CON " if screen.more else "END ") + screen.text).encode()

    def ending(self, body: bytes, content_type: str) -> SessionEnd:
        """The end-of-session notification (its ``input`` field is never read)."""
        form = _form(body, content_type)
        status = form.get("status", "").strip().lower()
        if status not in _ENDINGS:
            raise BadRequest("status must be Success, Incomplete or Failed")
        return SessionEnd(
            self.name,
            _session_id(form),
            _ENDINGS[status],
            _int(form.get("hopsCount", "0")),
            _int(form.get("durationInMillis", "0")),
            form.get("errorMessage", "")[:200],
            form.get("phoneNumber", "").strip()[:32],
        )


def _int(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 12 else 0
