"""Tax remittance: a business pays the tax authority against a payment reference (KRA's PRN).

The money goes from the business's WORKING account to the tax authority's
paybill (Daraja's ``PartyB`` 572572), within the ``b2b`` bounds. Tax payments
carry no charge [inferred: the tariff sources are silent].
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import PartyKind
from mkoba.processor.context import Context
from mkoba.processor.plan import Leg, Line, Plan, Refused
from mkoba.processor.proof import Proof
from mkoba.products.business.common import (
    business,
    check_channel,
    collection_account,
    float_account,
    offered,
    payee,
    public_name,
)

# Tax payments use the B2B tariff's bounds.
TARIFF = "b2b"


class TaxRemittance:
    """Daraja's ``PayTaxToKRA``."""

    name = "tax_remittance"
    proof = Proof.BUSINESS

    async def run(self, ctx: Context) -> Plan:
        """Check the business, the tax authority and the amount, then plan the payment."""
        check_channel(ctx)
        offered(ctx, TARIFF)
        asked = ctx.command_as(commands.TaxRemittance)
        payer = business(ctx, asked.shortcode)
        authority = payee(ctx, asked.target, (PartyKind.ORGANISATION,))
        if authority.id == payer.id:
            raise Refused(Code.SAME_ACCOUNT)
        reference = asked.account
        amount = asked.amount
        ctx.check_amount(TARIFF, amount)
        source = float_account(ctx, payer)
        destination = collection_account(ctx, authority)
        return Plan(
            product=self.name,
            payer_id=payer.id,
            payee_id=authority.id,
            amount=amount,
            legs=(Leg(source, destination, amount),),
            reference=reference,
            lines=(
                Line(payer.id, source, f"Tax {reference} to {public_name(authority)}", -amount),
                Line(
                    authority.id, destination, f"Tax {reference} from {public_name(payer)}", amount
                ),
            ),
            balance_of=source,
            message=f"{ctx.money(amount)} paid to {public_name(authority)}.",
            data={
                "amount": amount,
                "fee": 0,
                "receiver": public_name(authority),
                "payer": public_name(payer),
                "reference": reference,
                "reason": "Pay Tax to KRA",
            },
        )
