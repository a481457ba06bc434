"""Events TranProc commits with the money, and the ports a business's integrations fill.

A payment to a business (a till, a paybill) is a ``BusinessPayment``: typed,
channel-neutral, built by the product from what it decided. Two ports, each
given to the processor by the composition root (``app.py``), let a channel take
part without products or the processor knowing which channel it is:

- ``Validation``: a declared step of the product, before the PIN and the money
  (Daraja's C2B validation URL). It accepts, naming the payment in the
  business's own words (``ThirdPartyTransID``), or raises ``Refused``.
- ``Subscriber``: told of the payment as it commits, it answers with its
  ``Reaction``: the messages (callbacks) and its own rows, which the processor
  commits in the same batch as the money, so a callback exists exactly when the
  money moved. A subscriber renders its own texts and never moves money.

The defaults accept everything and add nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from mkoba.parties import Party
from mkoba.processor.plan import Note, Row
from mkoba.processor.request import Callback, Channel


class BusinessPayment(NamedTuple):
    """A customer's payment to a business, as the business's integrations see it."""

    request_id: str
    channel: Channel
    # Where the requester asked the outcome to go (an STK push's callback), if it did.
    callback: Callback | None
    product: str
    payer: Party
    payee: Party
    amount: int
    # The account reference (paybill) or '' (till).
    reference: str
    # The payee's account the amount lands in (its balance goes in a confirmation).
    received_into: int
    # The business's own name for the payment, from its validation ('' when none).
    third_party: str = ""


class Reaction(NamedTuple):
    """What a subscriber commits with a payment: messages out and its own rows."""

    notes: tuple[Note, ...] = ()
    rows: tuple[Row, ...] = ()


NOTHING = Reaction()


class Validation(Protocol):
    """A business's say on a payment before it happens."""

    async def validate(self, payment: BusinessPayment, now: int) -> str:
        """Accept (returning the business's id for it, or '') or raise ``Refused``."""
        ...


class Subscriber(Protocol):
    """A channel that reacts to payments as they commit."""

    def paid(self, payment: BusinessPayment) -> Reaction:
        """The messages and rows to commit with ``payment``."""
        ...


class AcceptAll:
    """Businesses without integrations: every payment is accepted as it is."""

    async def validate(self, payment: BusinessPayment, now: int) -> str:
        """Accept."""
        return ""


def reactions(subscribers: Sequence[Subscriber], payment: BusinessPayment) -> Reaction:
    """What every subscriber commits with ``payment``, in the order they subscribed."""
    notes: list[Note] = []
    rows: list[Row] = []
    for subscriber in subscribers:
        reaction = subscriber.paid(payment)
        notes.extend(reaction.notes)
        rows.extend(reaction.rows)
    return Reaction(tuple(notes), tuple(rows)) if notes or rows else NOTHING
