"""What a committed payment to a business sends on Daraja: its callbacks, with the money.

``DarajaPayments`` subscribes to TranProc's payments to businesses
(``processor/events.py``). For each it answers, in the payment's own commit:

- for an STK payment (one that carries the push's ``Callback``), the success
  ``stkCallback`` to the caller's CallBackURL and the prompt's row completed
  with its receipt, so the query never disagrees with the ledger;
- for a shortcode with a registered ConfirmationURL, the C2B confirmation, with
  the payee's new balance and the business's ThirdPartyTransID from validation.

The processor commits them with the money, so a callback exists exactly when
the money moved. The texts are rendered at commit by ``payloads.RENDERERS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mkoba.channels.daraja import payloads
from mkoba.channels.daraja.stk_prompt import completed_row
from mkoba.channels.daraja.validation import c2b_params
from mkoba.processor.events import NOTHING, BusinessPayment, Reaction
from mkoba.processor.plan import Note, Row
from mkoba.processor.request import Channel

if TYPE_CHECKING:
    from mkoba.channels.daraja.state import Daraja


class DarajaPayments:
    """The STK callback and the C2B confirmation of payments as they commit."""

    def __init__(self, daraja: Daraja) -> None:
        self.daraja = daraja

    def paid(self, payment: BusinessPayment) -> Reaction:
        """The callbacks (and the prompt's row) to commit with ``payment``."""
        notes: list[Note] = []
        rows: list[Row] = []
        callback = payment.callback
        if callback is not None and _answers_prompt(payment):
            params = {
                "merchant_request_id": callback.correlation,
                "checkout_id": callback.reference,
                "amount_minor": str(payment.amount),
                "msisdn": payment.payer.msisdn or "",
            }
            notes.append(Note(callback.url, "en", payloads.STK_TEMPLATE, params, 0, "callback"))
            rows.append(completed_row(callback.reference))
        urls = self.daraja.registry.urls.get(payment.payee.number or "")
        if urls is not None and urls.confirmation_url:
            params = c2b_params(payment, urls.version)
            if payment.third_party:
                params["third_party"] = payment.third_party
            notes.append(
                Note(
                    urls.confirmation_url,
                    "en",
                    payloads.C2B_TEMPLATE,
                    params,
                    payment.received_into,
                    "callback",
                )
            )
        return Reaction(tuple(notes), tuple(rows)) if notes else NOTHING


def _answers_prompt(payment: BusinessPayment) -> bool:
    """Whether the payment is an STK prompt's: made on the STK channel, for that prompt.

    The prompt's request id ends with its CheckoutRequestID (``prompts.py``), so a
    callback named in any other request cannot complete a prompt.
    """
    callback = payment.callback
    return (
        payment.channel == Channel.STK
        and callback is not None
        and bool(callback.reference)
        and payment.request_id.endswith(f":{callback.reference}")
    )
