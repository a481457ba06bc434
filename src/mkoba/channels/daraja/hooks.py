"""Daraja's C2B hooks: external validation before a payment, callbacks committed with it.

``DarajaHooks`` is the platform's ``BusinessHooks`` while the channel runs.
Paying a paybill or till whose shortcode has registered URLs:

- ``validate`` POSTs the payment to the ValidationURL when external
  validation is on for the shortcode (it is off by default, as on Daraja),
  waits ``daraja_validation_timeout_s``, and refuses the payment when the
  business says no; without an answer in time, the registered ResponseType
  (``Completed`` or ``Cancelled``) decides. STK payments are not validated: the
  business asked for them itself.
- ``notes`` adds the confirmation callback, and for an STK payment its
  ``stkCallback``, as notes of the payment: the processor commits them with
  the money, so a callback exists exactly when the money moved.
- ``rows`` completes an STK payment's prompt (its receipt, ResultCode 0) in
  the same commit, so the query never disagrees with the ledger.

Validation requests carry no ``TransID``: the receipt is made when the money moves.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mkoba.channels.daraja import payloads
from mkoba.channels.daraja.body import parse_json
from mkoba.channels.daraja.envelope import json_text
from mkoba.channels.daraja.poster import Poster, PostError
from mkoba.channels.daraja.stk_prompt import completed_row
from mkoba.codes import Code
from mkoba.parties import Party, PartyKind, Purpose
from mkoba.processor.hooks import Payment
from mkoba.processor.plan import Note, Refused, Row
from mkoba.processor.request import Channel, Request
from mkoba.text import storable

if TYPE_CHECKING:
    from mkoba.channels.daraja.state import Daraja
    from mkoba.processor.context import Context

log = logging.getLogger("mkoba.daraja.c2b")

# What the customer is told when the business turns a payment down, by its C2B code.
REJECTIONS = {
    "C2B00011": "The business did not accept payments from this number.",
    "C2B00012": "The business says the account number is not valid.",
    "C2B00013": "The business did not accept this amount.",
    "C2B00014": "The business could not confirm your details.",
    "C2B00015": "The business number is not valid.",
    "C2B00016": "The business could not accept this payment.",
}
# Validation answers kept for confirmation (ThirdPartyTransID), per request, at most.
third_party_kept_max = 10_000


def split_name(name: str) -> tuple[str, str, str]:
    """First, middle and last name, as KYC names go into C2B payloads."""
    parts = name.split()
    if not parts:
        return "", "", ""
    if len(parts) == 1:
        return parts[0], "", ""
    return parts[0], " ".join(parts[1:-1]), parts[-1]


def masked(msisdn: str) -> str:
    """The MSISDN as C2B v2 shows it (``25470****149``)."""
    return f"{msisdn[:5]}****{msisdn[-3:]}" if len(msisdn) >= 9 else "****"


class DarajaHooks:
    """Validation and confirmation for shortcodes with registered C2B URLs."""

    def __init__(self, daraja: Daraja) -> None:
        self.daraja = daraja
        self.poster = Poster(daraja.settings.daraja_validation_timeout_s)
        self._third_party: dict[str, str] = {}

    def _params(self, payment: Payment, version: str) -> dict[str, str]:
        payer = payment.payer
        first, middle, last = split_name(payer.name)
        msisdn = payer.msisdn or ""
        return {
            "transaction_type": "Buy Goods" if payment.product == "buy_goods" else "Pay Bill",
            "amount_minor": str(payment.amount),
            "shortcode": payment.payee.number or "",
            "bill_ref": payment.reference,
            "msisdn": masked(msisdn) if version == "v2" else msisdn,
            "first_name": first,
            "middle_name": middle,
            "last_name": last,
        }

    async def validate(self, ctx: Context, payment: Payment) -> None:
        """Ask the business (when it asked to be asked); refuse the payment if it says no."""
        if ctx.request.channel == Channel.STK:
            return
        registry = self.daraja.registry
        number = payment.payee.number or ""
        code = registry.shortcodes.get(number)
        urls = registry.urls.get(number)
        if code is None or urls is None or not code.external_validation:
            return
        body = json_text(payloads.c2b(self._params(payment, urls.version), "", ctx.now, None))
        answer = await self._ask(urls.validation_url, body)
        if answer is None:
            if urls.response_type == "Cancelled":
                raise Refused(Code.NOT_ALLOWED, REJECTIONS["C2B00016"], c2b_code="timeout")
            return
        result = str(answer.get("ResultCode", "")).strip()
        if result != "0":
            message = REJECTIONS.get(result, REJECTIONS["C2B00016"])
            raise Refused(Code.NOT_ALLOWED, message, c2b_code=result or "C2B00016")
        third_party = answer.get("ThirdPartyTransID")
        # The business's own text goes into the confirmation: only text that can be stored.
        if isinstance(third_party, str | int) and str(third_party) and storable(str(third_party)):
            if len(self._third_party) >= third_party_kept_max:
                self._third_party.pop(next(iter(self._third_party)))
            self._third_party[ctx.request.id] = str(third_party)[:64]

    async def _ask(self, url: str, body: str) -> dict[str, Any] | None:
        """The business's answer, or None when it gave none in time."""
        try:
            response = await self.poster.post(url, body.encode())
        except PostError as problem:
            # Closed too: the platform is stopping; the default action holds.
            log.info("validation URL did not answer: %s", problem.kind)
            return None
        if not 200 <= response.status < 300:
            return None
        try:
            answer = parse_json(response.body)
        except (ValueError, RecursionError):
            return None
        return answer if isinstance(answer, dict) else None

    def notes(self, ctx: Context, payment: Payment) -> tuple[Note, ...]:
        """The STK callback (for an STK payment) and the confirmation, committed with the money."""
        notes: list[Note] = []
        request = ctx.request
        checkout_id = _checkout_id(request)
        callback_url = request.params.get("callback_url", "")
        if checkout_id and callback_url:
            params = {
                "merchant_request_id": request.params.get("merchant_request_id", ""),
                "checkout_id": checkout_id,
                "amount_minor": str(payment.amount),
                "msisdn": request.msisdn,
            }
            notes.append(Note(callback_url, "en", payloads.STK_TEMPLATE, params, 0, "callback"))
        urls = self.daraja.registry.urls.get(payment.payee.number or "")
        if urls is not None and urls.confirmation_url:
            params = self._params(payment, urls.version)
            third_party = self._third_party.pop(ctx.request.id, "")
            if third_party:
                params["third_party"] = third_party
            account = _received_into(ctx, payment.payee)
            notes.append(
                Note(
                    urls.confirmation_url, "en", payloads.C2B_TEMPLATE, params, account, "callback"
                )
            )
        return tuple(notes)

    def rows(self, ctx: Context, payment: Payment) -> tuple[Row, ...]:
        """An STK payment's prompt, completed with its receipt in the payment's commit."""
        checkout_id = _checkout_id(ctx.request)
        return (completed_row(checkout_id),) if checkout_id else ()

    async def close(self) -> None:
        """Close the connections to validation URLs."""
        await self.poster.close()


def _checkout_id(request: Request) -> str:
    """The STK prompt a payment answers ('' for any other payment).

    The prompt's details travel in the request (prompts.py), so that the channel that
    holds the prompt and the TranProc that moves the money may be different processes.
    """
    checkout_id = request.params.get("checkout_id", "")
    if request.channel == Channel.STK and checkout_id and request.id.endswith(f":{checkout_id}"):
        return checkout_id
    return ""


def _received_into(ctx: Context, payee: Party) -> int:
    """The account a payment to ``payee`` lands in (its balance goes in the confirmation)."""
    purpose = Purpose.TILL if payee.kind == PartyKind.MERCHANT else Purpose.UTILITY
    return ctx.directory.account(payee.id, purpose) or 0
