"""What businesses may add to a payment made to them: validation and confirmation.

Paying a paybill or a till calls the payee's hooks: ``validate`` before the PIN
and the money (raise ``Refused`` to reject, as Daraja's C2B validation URL may),
``notes`` for extra outbox messages committed with the money (Daraja's C2B
confirmation callback), and ``rows`` for the channel's own rows committed with
it (an STK prompt's outcome). The default does nothing; channels/daraja provides the
real one. Products call hooks; hooks never move money themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol

from mkoba.parties import Party
from mkoba.processor.plan import Note, Row

if TYPE_CHECKING:
    from mkoba.processor.context import Context


class Payment(NamedTuple):
    """A payment to a business, as its hooks see it before it is committed."""

    product: str
    payer: Party
    payee: Party
    amount: int
    # The account reference (paybill) or '' (till).
    reference: str


class BusinessHooks(Protocol):
    """Per-business behaviour around incoming payments."""

    async def validate(self, ctx: Context, payment: Payment) -> None:
        """Accept (return) or reject (raise ``Refused``) a payment before it happens."""

    def notes(self, ctx: Context, payment: Payment) -> tuple[Note, ...]:
        """Extra messages to commit with the payment (callbacks to the business)."""
        ...

    def rows(self, ctx: Context, payment: Payment) -> tuple[Row, ...]:
        """The channel's own rows to commit with the payment (what became of its request)."""
        ...


class NoHooks:
    """Businesses without integrations: accept everything, add nothing."""

    async def validate(self, ctx: Context, payment: Payment) -> None:
        """Accept."""

    def notes(self, ctx: Context, payment: Payment) -> tuple[Note, ...]:
        """Nothing to add."""
        return ()

    def rows(self, ctx: Context, payment: Payment) -> tuple[Row, ...]:
        """Nothing to add."""
        return ()
