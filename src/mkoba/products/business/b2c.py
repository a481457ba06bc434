"""B2C: a business pays a customer (salary, business payment, promotion, Pochi la Biashara).

The amount goes from the business's UTILITY account to the customer's wallet;
the business pays the B2C charge (the catalog's ``b2c`` tariff) from the same
account. The recipient must be a registered, active customer.
"""

from __future__ import annotations

from mkoba.commands import catalog as commands
from mkoba.parties import Purpose
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
        amount = asked.amount
        ctx.check_amount(self.name, amount)
        fee = ctx.profile.fee(self.name, amount).business
        excise = ctx.profile.excise(fee)
        source = ctx.account(payer, Purpose.UTILITY)
        target = ctx.account(recipient, Purpose.WALLET)
        remarks = asked.remarks
        return two_party(
            self.name,
            Side(payer, source, f"{_REASONS[command]} to {recipient.msisdn}"),
            Side(
                recipient,
                target,
                f"Received from {display_name(payer)}",
                "b2c.recipient",
                {"amount": ctx.money(amount), "business": display_name(payer)},
            ),
            amount,
            charges=Charges(business_fee=fee, excise=excise),
            reference=recipient.msisdn or "",
            message=f"{ctx.money(amount)} paid to {display_name(recipient)}.",
            data={
                "amount": amount,
                "fee": fee,
                "command": command,
                "reason": _REASONS[command],
                "remarks": remarks,
                "recipient": public_name(recipient),
                "registered": "Y",
            },
        )
