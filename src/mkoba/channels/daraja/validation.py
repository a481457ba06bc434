"""Daraja's C2B validation: the business's say on a payment, before the PIN and the money.

``DarajaValidation`` is TranProc's ``Validation`` port while the channel runs
(``processor/events.py``). Paying a paybill or till whose shortcode turned
external validation on (off by default, as on Daraja) POSTs the payment to its
ValidationURL, waits ``daraja_validation_timeout_s``, and refuses the payment
when the business says no; without an answer in time, the registered
ResponseType (``Completed`` or ``Cancelled``) decides. STK payments are not
validated: the business asked for them itself. The business's
``ThirdPartyTransID`` goes into the payment, and from there into its
confirmation (``confirmation.py``).

Validation requests carry no ``TransID``: the receipt is made when the money moves.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mkoba.channels.daraja import payloads
from mkoba.channels.daraja.body import parse_json
from mkoba.channels.daraja.envelope import json_text
from mkoba.channels.daraja.poster import Poster, PostError
from mkoba.codes import Code
from mkoba.processor.events import BusinessPayment
from mkoba.processor.plan import Refused
from mkoba.processor.request import Channel
from mkoba.text import storable

if TYPE_CHECKING:
    from mkoba.channels.daraja.state import Daraja

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
# The longest ThirdPartyTransID kept for the confirmation.
third_party_length_max = 64


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


def c2b_params(payment: BusinessPayment, version: str) -> dict[str, str]:
    """A payment as the C2B payload's template reads it (v2 masks the MSISDN)."""
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


class DarajaValidation:
    """External validation for shortcodes that asked for it."""

    def __init__(self, daraja: Daraja) -> None:
        self.daraja = daraja
        self.poster = Poster(daraja.settings.daraja_validation_timeout_s)

    async def validate(self, payment: BusinessPayment, now: int) -> str:
        """Ask the business (when it asked to be asked); refuse the payment if it says no."""
        if payment.channel == Channel.STK:
            return ""
        registry = self.daraja.registry
        number = payment.payee.number or ""
        code = registry.shortcodes.get(number)
        urls = registry.urls.get(number)
        if code is None or urls is None or not code.external_validation:
            return ""
        body = json_text(payloads.c2b(c2b_params(payment, urls.version), "", now, None))
        answer = await self._ask(urls.validation_url, body)
        if answer is None:
            if urls.response_type == "Cancelled":
                raise Refused(Code.NOT_ALLOWED, REJECTIONS["C2B00016"], c2b_code="timeout")
            return ""
        result = str(answer.get("ResultCode", "")).strip()
        if result != "0":
            message = REJECTIONS.get(result, REJECTIONS["C2B00016"])
            raise Refused(Code.NOT_ALLOWED, message, c2b_code=result or "C2B00016")
        third_party = answer.get("ThirdPartyTransID")
        # The business's own text goes into the confirmation: only text that can be stored.
        if isinstance(third_party, str | int) and storable(str(third_party)):
            return str(third_party)[:third_party_length_max]
        return ""

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

    async def close(self) -> None:
        """Close the connections to validation URLs."""
        await self.poster.close()
