"""The SMS channel's developer route: play an SMS sent from a simulated handset.

The SMS comes from the handset that sends it, so the route needs that number's
handset credential (``Authorization: Handset ...``, ``parties/handsets.py``),
as the inbox does; with a real SMSC (``MKOBA_SMPP``) SMS come from it and the
route is not served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from mkoba.parties import InvalidMsisdn, normalize_msisdn
from mkoba.parties.handsets import SCHEME, HandsetKey

if TYPE_CHECKING:
    from mkoba.channels.sms.channel import SmsChannel


class InboundBody(BaseModel):
    """An SMS from a phone to a short code."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sender: str = Field(alias="from", description="the phone number", examples=["0712000001"])
    to: str = Field(description="the short code", examples=["456"], max_length=21)
    text: str | None = Field(
        None, max_length=1600, examples=["UKO1CZ2IBW Confirmed. Ksh100.00 sent to..."]
    )
    data: str | None = Field(
        None,
        description="SIM data instead of text: one 8-bit SMS's user data (header included), hex",
        pattern=r"^([0-9a-fA-F]{2}){1,140}$",
    )


def mount(app: FastAPI, channel: SmsChannel) -> None:
    """Add the inbound SMS route (simulated handsets only: not with a real SMSC)."""
    if channel.settings.smpp:
        return
    handsets = HandsetKey.load_or_create(channel.settings.keys_dir)

    @app.post(
        "/api/v1/sms/inbound",
        summary="An SMS from a simulated handset, as the SMSC delivers it (its credential)",
        tags=["developer"],
        responses={401: {"description": "not the sender's handset credential"}},
    )
    async def inbound(
        body: InboundBody, authorization: str | None = Header(None, include_in_schema=False)
    ) -> JSONResponse:
        try:
            msisdn = normalize_msisdn(body.sender)
        except InvalidMsisdn as problem:
            return JSONResponse({"ok": False, "message": f"from: {problem}"}, status_code=400)
        if handsets.caller(authorization) != msisdn:
            refused = {"ok": False, "message": "the sender's handset credential is needed"}
            return JSONResponse(refused, status_code=401, headers={"WWW-Authenticate": SCHEME})
        if (body.text is None) == (body.data is None):
            refused = {"ok": False, "message": "give the SMS's text, or its data (SIM data)"}
            return JSONResponse(refused, status_code=400)
        if body.data is not None:
            return await _sim_data(channel, msisdn, body.to, bytes.fromhex(body.data))
        reply = await channel.inbox.handle(msisdn, body.to, body.text or "")
        return JSONResponse({"ok": True, "reply": reply})


async def _sim_data(channel: SmsChannel, msisdn: str, to: str, data: bytes) -> JSONResponse:
    """SIM data from a simulated phone: to the SIM channel, its answer into the phone's
    inbox from the short code it wrote to, as an SMSC would deliver them."""
    handler, memory = channel.sim_data, channel.memory
    if handler is None or memory is None:
        refused = {"ok": False, "message": "this server has no SIM channel"}
        return JSONResponse(refused, status_code=404)
    for part in await handler(msisdn, to, data):
        memory.send_data(to, msisdn, part)
    return JSONResponse({"ok": True, "reply": ""})
