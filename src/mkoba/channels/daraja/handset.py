"""The customer's side of STK: prompts reach the handset, the handset answers.

Native routes (the native API's envelope and errors), used by ``mkoba phone``
and any handset simulator:

- ``GET /api/v1/stk/{msisdn}/pending?wait=S``: the prompt waiting on a number
  (long-polls up to ``S`` seconds for one to arrive);
- ``POST /api/v1/stk/{checkout_id}/answer`` with ``{"pin": "1357"}`` or
  ``{"cancel": true}``: the customer's answer, and what came of it;
- ``GET /api/v1/daraja/certificate``: mkoba's SecurityCredential certificate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from mkoba.channels.daraja.prompts import answer_json, prompt_text
from mkoba.channels.daraja.state import daraja_of
from mkoba.money import format_amount
from mkoba.parties import InvalidMsisdn, normalize_msisdn
from mkoba.processor.codes import Code

if TYPE_CHECKING:
    from mkoba.app import Platform

# Long-polling for a prompt waits at most this long.
wait_s_max = 30.0


class AnswerBody(BaseModel):
    """The customer's answer: the PIN, or cancel."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    pin: str | None = Field(None, description="the customer's M-PESA PIN", examples=["1357"])
    cancel: bool = Field(False, description="true: the customer pressed Cancel")


def _error(code: Code, message: str) -> JSONResponse:
    body = {
        "ok": False,
        "code": str(code),
        "message": message,
        "receipt": None,
        "request_id": "",
        "data": {},
    }
    return JSONResponse(body, status_code=code.http_status)


def mount_handset(app: FastAPI, platform: Platform) -> None:
    """Add the handset routes to ``app``."""

    @app.get(
        "/api/v1/stk/{msisdn}/pending",
        summary="STK prompts waiting on a handset (long-poll with wait)",
        tags=["developer"],
    )
    async def pending(msisdn: str, wait: float = 0.0) -> JSONResponse:
        daraja = daraja_of(platform)
        if daraja is None:
            return _error(Code.SYSTEM_BUSY, "the Daraja channel is not running")
        try:
            number = normalize_msisdn(msisdn)
        except InvalidMsisdn as problem:
            return _error(Code.INVALID_INPUT, f"msisdn: {problem}")
        prompts = daraja.prompts.pending(number)
        if not prompts and wait > 0:
            await daraja.prompts.wait(number, min(wait, wait_s_max))
            prompts = daraja.prompts.pending(number)
        now = daraja.now()
        shown: list[dict[str, Any]] = []
        for prompt in prompts:
            currency = daraja.services.profile(prompt.created).currency
            shown.append(
                {
                    "checkout_id": prompt.checkout_id,
                    "business": prompt.business,
                    "shortcode": prompt.party_b,
                    "account": prompt.account,
                    "amount": prompt.amount,
                    "amount_text": format_amount(prompt.amount, currency),
                    "text": prompt_text(prompt, currency),
                    "expires_in_s": max(0, round((prompt.expires - now) / 1e9)),
                }
            )
        return JSONResponse({"msisdn": number, "prompts": shown})

    @app.post(
        "/api/v1/stk/{checkout_id}/answer",
        summary="Answer an STK prompt with the PIN, or cancel it",
        tags=["developer"],
    )
    async def answer(checkout_id: str, body: AnswerBody) -> JSONResponse:
        daraja = daraja_of(platform)
        if daraja is None:
            return _error(Code.SYSTEM_BUSY, "the Daraja channel is not running")
        if body.cancel:
            outcome = await daraja.prompts.cancel(checkout_id)
        elif body.pin:
            outcome = await daraja.prompts.answer(checkout_id, body.pin)
        else:
            return _error(Code.INVALID_INPUT, "give the pin, or cancel: true")
        status = 200 if outcome.ok else 404 if outcome.code == "unknown_prompt" else 409
        if not outcome.ok and outcome.code in {str(code) for code in Code}:
            status = Code(outcome.code).http_status
        return JSONResponse(answer_json(outcome, checkout_id), status_code=status)

    @app.get(
        "/api/v1/daraja/certificate",
        summary="mkoba's SecurityCredential certificate (PEM), for strict mode",
        tags=["developer"],
        response_class=PlainTextResponse,
    )
    async def certificate() -> PlainTextResponse:
        daraja = daraja_of(platform)
        if daraja is None:
            return PlainTextResponse("the Daraja channel is not running", status_code=503)
        return PlainTextResponse(
            daraja.credentials.certificate.read_text(), media_type="application/x-pem-file"
        )
