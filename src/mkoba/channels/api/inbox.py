"""The simulated handsets' SMS inbox: ``GET /api/v1/sms/{msisdn}`` (developer tool).

What the in-memory SMSC delivered to a number: the phone's own messages, care
resets' temporary PINs among them, so only that phone may read them. The
route needs the handset's credential (``Authorization: Handset ...``,
``parties/handsets.py``; ``mkoba phone MSISDN --credential`` prints one) and
answers anyone else 401, the same whether the number exists or not. With a
real SMSC (``MKOBA_SMPP``) messages go to real phones and the route is not
served at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse

from mkoba.codes import Code
from mkoba.parties import InvalidMsisdn, normalize_msisdn
from mkoba.parties.handsets import SCHEME, HandsetKey

if TYPE_CHECKING:
    from mkoba.outbox import MemorySmsc
    from mkoba.outbox.memory import Sms

# Long-polling the inbox waits at most this long.
wait_s_max = 30.0
REFUSED = "this number's handset credential is needed: Authorization: Handset <credential>"


def refused() -> JSONResponse:
    """401 for a caller that is not the number's handset (it says nothing of the number)."""
    return _error(Code.NOT_ALLOWED, REFUSED, 401, {"WWW-Authenticate": SCHEME})


def _error(
    code: Code, message: str, status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error in the native API's envelope (``app.error``, which imports this module)."""
    body = {"ok": False, "code": str(code), "message": message}
    return JSONResponse(
        {**body, "receipt": None, "request_id": "", "data": {}},
        status_code=status,
        headers=headers,
    )


def _shown(sms: Sms) -> dict[str, object]:
    """A message as the inbox lists it; SIM data (for the phone's SIM) as hex in ``data``."""
    shown: dict[str, object] = {"id": sms.id, "from": sms.sender, "text": sms.body, "at": sms.at}
    if sms.data:
        shown["data"] = sms.data.hex()
    return shown


def mount(app: FastAPI, smsc: MemorySmsc, handsets: HandsetKey) -> None:
    """Add the inbox route of the in-memory SMSC (not served with a real SMSC)."""

    @app.get(
        "/api/v1/sms/{msisdn}",
        summary="The SMS inbox of a simulated handset (its credential required)",
        tags=["developer"],
        responses={401: {"description": "not this number's handset credential"}},
    )
    async def inbox(
        msisdn: str,
        after: int = 0,
        wait: float = 0.0,
        authorization: str | None = Header(None, include_in_schema=False),
    ) -> JSONResponse:
        try:
            number = normalize_msisdn(msisdn)
        except InvalidMsisdn as problem:
            return _error(Code.INVALID_INPUT, f"msisdn: {problem}", 400)
        if handsets.caller(authorization) != number:
            return refused()
        messages = smsc.inbox(number, after)
        if not messages and wait > 0:
            await smsc.wait(number, min(wait, wait_s_max))
            messages = smsc.inbox(number, after)
        return JSONResponse(
            {
                "msisdn": number,
                "messages": [_shown(sms) for sms in messages],
            }
        )
