"""A business reverses a payment it received: the amount goes back to whoever paid it.

The business names the receipt and the amount (Daraja's ``TransactionReversal``).
Only a completed payment to this business can be reversed, once, in full; the
money comes back out of the account it landed in. Charges are not refunded
[inferred]. Requests of one business are decided one at a time (the processor
holds the business's lock), so two reversals of one receipt cannot both pass.
"""

from __future__ import annotations

import asyncio
import json

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import PartyKind
from mkoba.processor import history
from mkoba.processor.context import Context
from mkoba.processor.plan import Leg, Line, Note, Plan, Refused
from mkoba.processor.proof import Proof
from mkoba.processor.status import Status
from mkoba.products.business.common import business, check_channel, public_name
from mkoba.products.business.transaction_status import REVERSALS


class BusinessReversal:
    """Daraja's ``TransactionReversal``."""

    name = "business_reversal"
    proof = Proof.BUSINESS

    async def run(self, ctx: Context) -> Plan:
        """Check the original payment, then plan its amount back to the payer."""
        check_channel(ctx)
        asked = ctx.command_as(commands.BusinessReversal)
        party = business(ctx, asked.shortcode)
        original = asked.receipt
        amount = asked.amount
        found = await self._original(ctx, original)
        if found is None or found.payee_id != party.id:
            raise Refused(Code.UNKNOWN_RECEIPT, reason="not_found")
        if found.status != "completed":
            raise Refused(
                Code.REVERSAL_NOT_POSSIBLE, "that payment did not complete", reason="state"
            )
        if await self._reversed(ctx, original):
            raise Refused(
                Code.REVERSAL_NOT_POSSIBLE,
                "that payment is already reversed",
                reason="already_reversed",
            )
        if amount != found.amount:
            raise Refused(
                Code.REVERSAL_NOT_POSSIBLE,
                "the amount is not the payment's amount",
                reason="amount",
            )
        leg = _received(found, party.id)
        if leg is None:
            raise Refused(
                Code.REVERSAL_NOT_POSSIBLE, "nothing of it reached this business", reason="legs"
            )
        source, target = leg
        payer = ctx.directory.get(found.payer_id)
        if payer is None:
            raise Refused(Code.UNKNOWN_RECEIPT, reason="not_found")
        notes: tuple[Note, ...] = ()
        if payer.kind == PartyKind.CUSTOMER and payer.msisdn:
            params = {"amount": ctx.money(amount), "original": original}
            notes = (
                Note(payer.msisdn, payer.language, "business_reversal.customer", params, target),
            )
        return Plan(
            product=self.name,
            payer_id=party.id,
            payee_id=payer.id,
            amount=amount,
            legs=(Leg(source, target, amount),),
            reference=original,
            notes=notes,
            lines=(
                Line(party.id, source, f"Reversal of {original}", -amount),
                Line(payer.id, target, f"Reversal of {original}", amount),
            ),
            balance_of=source,
            message=f"{original} reversed: {ctx.money(amount)} back to {public_name(payer)}.",
            data={
                "amount": amount,
                "original": original,
                "debit_party": public_name(party),
                "credit_party": public_name(payer),
                "charge": 0,
            },
        )

    async def _original(self, ctx: Context, receipt: str) -> history.Receipt | None:
        return await asyncio.to_thread(history.receipt, ctx.services.store, receipt)

    async def _reversed(self, ctx: Context, receipt: str) -> bool:
        found = await asyncio.to_thread(
            history.reversals_of,
            ctx.services.store,
            receipt,
            REVERSALS,
            (Status.COMPLETED, Status.PENDING),
        )
        return bool(found)


def _received(found: history.Receipt, payee_id: int) -> tuple[int, int] | None:
    """The leg that brought the payment's amount to the payee, as (its credit, its debit)."""
    amount = found.amount
    for debit, credit, moved in json.loads(found.legs):
        if int(credit) // 100 == payee_id and int(moved) == amount:
            return int(credit), int(debit)
    return None
