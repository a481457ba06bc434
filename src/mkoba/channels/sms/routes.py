"""The SMS channel's developer route: play an SMS sent from a phone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from mkoba.parties import InvalidMsisdn, normalize_msisdn

if TYPE_CHECKING:
    from mkoba.app import Platform


class InboundBody(BaseModel):
    """An SMS from a phone to a short code."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sender: str = Field(alias="from", description="the phone number", examples=["0712000001"])
    to: str = Field(description="the short code", examples=["456"], max_length=21)
    text: str = Field(max_length=1600, examples=["UKO1CZ2IBW Confirmed. Ksh100.00 sent to..."])


def mount(app: FastAPI, platform: Platform) -> None:
    """Add the inbound SMS route."""

    @app.post(
        "/api/v1/sms/inbound",
        summary="An SMS from a phone, as the SMSC delivers it (developer tool)",
        tags=["developer"],
    )
    async def inbound(body: InboundBody) -> JSONResponse:
        channel = platform.extras.get("sms")
        if channel is None:
            return JSONResponse({"ok": False, "message": "starting"}, status_code=503)
        try:
            msisdn = normalize_msisdn(body.sender)
        except InvalidMsisdn as problem:
            return JSONResponse({"ok": False, "message": f"from: {problem}"}, status_code=400)
        reply = await channel.inbox.handle(msisdn, body.to, body.text)
        return JSONResponse({"ok": True, "reply": reply})
