"""B2C: a business pays a customer (salary, business payment, promotion, Pochi la Biashara).

The amount goes from the business's UTILITY account to the customer's wallet;
the business pays the B2C charge (the catalog's ``b2c`` tariff) from the same
account. The recipient must be a registered, active customer.
"""

from __future__ import annotations

from mkoba.commands import catalog as commands
from mkoba.parties import Party, Purpose
from mkoba.processor.context import Context
from mkoba.processor.plan import Plan
from mkoba.processor.proof import Proof
from mkoba.products.business.common import command_of, public_name
from mkoba.products.common import customer, display_name
from mkoba.products.transfer import Charges, Side, two_party

COMMANDS = frozenset({"BusinessPayment", "SalaryPayment", "PromotionPayment", "BusinessPayToPochi"})
_REASONS = {
    "BusinessPayment": "Business Payment to Customer via API",
    "SalaryPayment": "Salary Payment via API",
    "PromotionPayment": "Promotion Payment via API",
    "BusinessPayToPochi": "Business Payment to Pochi via API",
}


class B2C:
    """Business to customer, as Daraja's B2C and B2Pochi APIs ask for it."""

    name = "b2c"
    proof = Proof.BUSINESS

    async def run(self, ctx: Context) -> Plan:
        """Check the business, the recipient and the amount, then plan the payment."""
        asked = ctx.command_as(commands.BusinessToCustomer)
        command = asked.command
        payer = command_of(ctx, self.name, command, asked.shortcode, COMMANDS)
        recipient = customer(ctx, asked.to)
        return pay_customer(
            ctx,
            self.name,
            payer,
            recipient,
            asked.amount,
            command=command,
            reason=_REASONS[command],
            remarks=asked.remarks,
            reference=recipient.msisdn or "",
        )


def pay_customer(
    ctx: Context,
    product: str,
    payer: Party,
    recipient: Party,
    amount: int,
    *,
    command: str,
    reason: str,
    remarks: str,
    reference: str,
) -> Plan:
    """B2C's decision: ``amount`` from the payer's UTILITY to the customer, at the B2C tariff.

    Daraja's B2C and the console's bulk disbursement (``bulk.py``) both pay this way, so
    a bulk row's result is a B2C result: the same limits, charge, accounts and texts.
    """
    ctx.check_amount(B2C.name, amount)
    fee = ctx.profile.fee(B2C.name, amount).business
    excise = ctx.profile.excise(fee)
    source = ctx.account(payer, Purpose.UTILITY)
    target = ctx.account(recipient, Purpose.WALLET)
    return two_party(
        product,
        Side(payer, source, f"{reason} to {recipient.msisdn}"),
        Side(
            recipient,
            target,
            f"Received from {display_name(payer)}",
            "b2c.recipient",
            {"amount": ctx.money(amount), "business": display_name(payer)},
        ),
        amount,
        charges=Charges(business_fee=fee, excise=excise),
        reference=reference,
        message=f"{ctx.money(amount)} paid to {display_name(recipient)}.",
        data={
            "amount": amount,
            "fee": fee,
            "command": command,
            "reason": reason,
            "remarks": remarks,
            "recipient": public_name(recipient),
            "registered": "Y",
        },
    )
