"""The customer's side of STK: prompts reach the handset, the handset answers.

Native routes (the native API's envelope and errors), used by ``mkoba phone``
and any handset simulator:

- ``GET /api/v1/stk/{msisdn}/pending?wait=S``: the prompt waiting on a number
  (long-polls up to ``S`` seconds for one to arrive);
- ``POST /api/v1/stk/{checkout_id}/answer`` with ``{"pin": "1357"}`` or
  ``{"cancel": true}``: the customer's answer, and what came of it;
- ``GET /api/v1/daraja/certificate``: mkoba's SecurityCredential certificate.

The prompt routes stand in for the customer's own phone, so they need its
handset credential (``Authorization: Handset ...``, ``parties/handsets.py``):
without it, 401; a prompt on another number is answered as one that does not
exist, before its PIN is looked at, so nobody burns a customer's PIN tries.
With a real SMSC (``MKOBA_SMPP``) the simulated handsets are off and these two
routes are not served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from mkoba.channels.daraja.codes import described
from mkoba.channels.daraja.stk_prompt import Answer, answer_json, prompt_text
from mkoba.codes import Code
from mkoba.money import format_amount
from mkoba.parties import InvalidMsisdn, normalize_msisdn
from mkoba.parties.handsets import SCHEME, HandsetKey
from mkoba.ports import Unavailable

if TYPE_CHECKING:
    from mkoba.channels.daraja.state import Daraja

# Long-polling for a prompt waits at most this long.
wait_s_max = 30.0
REFUSED = "this number's handset credential is needed: Authorization: Handset <credential>"
# Another number's prompt looks exactly like no prompt (as prompts.py says of an unknown id).
_NO_SUCH_PROMPT = Answer(
    False, "unknown_prompt", "There is no such request.", None, described("1019")
)


class AnswerBody(BaseModel):
    """The customer's answer: the PIN, or cancel."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    pin: str | None = Field(None, description="the customer's M-PESA PIN", examples=["1357"])
    cancel: bool = Field(False, description="true: the customer pressed Cancel")


def _error(code: Code, message: str, status: int | None = None) -> JSONResponse:
    body = {
        "ok": False,
        "code": str(code),
        "message": message,
        "receipt": None,
        "request_id": "",
        "data": {},
    }
    headers = {"WWW-Authenticate": SCHEME} if status == 401 else None
    return JSONResponse(body, status_code=status or code.http_status, headers=headers)


def mount_handset(app: FastAPI, daraja: Daraja) -> None:
    """Add the handset routes to ``app`` (the prompt routes only for simulated handsets)."""
    _certificate(app, daraja)
    if daraja.settings.smpp:
        return  # a real SMSC: real phones, no simulated handsets to answer for them
    handsets = HandsetKey.load_or_create(daraja.settings.keys_dir)

    @app.get(
        "/api/v1/stk/{msisdn}/pending",
        summary="STK prompts waiting on a handset (its credential required; long-poll with wait)",
        tags=["developer"],
        responses={401: {"description": "not this number's handset credential"}},
    )
    async def pending(
        msisdn: str,
        wait: float = 0.0,
        authorization: str | None = Header(None, include_in_schema=False),
    ) -> JSONResponse:
        try:
            number = normalize_msisdn(msisdn)
        except InvalidMsisdn as problem:
            return _error(Code.INVALID_INPUT, f"msisdn: {problem}")
        if handsets.caller(authorization) != number:
            return _error(Code.NOT_ALLOWED, REFUSED, 401)
        if not daraja.running:
            return _error(Code.SYSTEM_BUSY, "the Daraja channel is not running")
        prompts = daraja.prompts.pending(number) or await daraja.prompts.owners.pending_elsewhere(
            number
        )
        if not prompts and wait > 0:
            await daraja.prompts.wait(number, min(wait, wait_s_max))
            prompts = daraja.prompts.pending(number)
        now = daraja.now()
        shown: list[dict[str, Any]] = []
        for prompt in prompts:
            currency = daraja.profile(prompt.created).currency
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
        summary="Answer an STK prompt with the PIN, or cancel it (the handset's credential)",
        tags=["developer"],
        responses={401: {"description": "no handset credential"}},
    )
    async def answer(
        checkout_id: str,
        body: AnswerBody,
        authorization: str | None = Header(None, include_in_schema=False),
    ) -> JSONResponse:
        caller = handsets.caller(authorization)
        if caller is None:
            return _error(Code.NOT_ALLOWED, REFUSED, 401)
        if not daraja.running:
            return _error(Code.SYSTEM_BUSY, "the Daraja channel is not running")
        prompt = await daraja.prompts.find(checkout_id)
        if prompt is None or prompt.msisdn != caller:
            # Checked before the PIN is: another phone's guesses never reach the PIN check.
            return JSONResponse(answer_json(_NO_SUCH_PROMPT, checkout_id), status_code=404)
        pin = body.pin
        if not body.cancel and not pin:
            return _error(Code.INVALID_INPUT, "give the pin, or cancel: true")
        try:
            if body.cancel or not pin:
                outcome = await daraja.prompts.cancel(checkout_id)
            else:
                outcome = await daraja.prompts.answer(checkout_id, pin)
        except Unavailable:
            # The cluster form with no core answering: the prompt is still open.
            return _error(Code.SYSTEM_BUSY, "the system is busy: try again")
        status = 200 if outcome.ok else 404 if outcome.code == "unknown_prompt" else 409
        if not outcome.ok and outcome.code in {str(code) for code in Code}:
            status = Code(outcome.code).http_status
        return JSONResponse(answer_json(outcome, checkout_id), status_code=status)


def _certificate(app: FastAPI, daraja: Daraja) -> None:
    @app.get(
        "/api/v1/daraja/certificate",
        summary="mkoba's SecurityCredential certificate (PEM), for strict mode",
        tags=["developer"],
        response_class=PlainTextResponse,
    )
    async def certificate() -> PlainTextResponse:
        if not daraja.running:
            return PlainTextResponse("the Daraja channel is not running", status_code=503)
        return PlainTextResponse(
            daraja.credentials.certificate.read_text(), media_type="application/x-pem-file"
        )
