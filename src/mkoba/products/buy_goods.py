"""Buy goods: a customer pays a merchant's till. Free to the customer; the merchant pays.

The merchant's fee (M-Pesa's "Mauzo" rate) is withheld from the amount on its
way to the till, so every leg leaves the payer's wallet (pending legs cannot
spend a pending credit, and a new till holds nothing yet). The merchant sees the
payer's name and number masked, as M-Pesa has shown them to tills since 2021.
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import PartyKind, Purpose, mask_msisdn
from mkoba.processor.context import Context
from mkoba.processor.plan import Plan
from mkoba.products.common import display_name, masked, offered
from mkoba.products.transfer import Charges, Side, collector, two_party


class BuyGoods:
    """M-Pesa's "Lipa na M-PESA, Buy Goods and Services"."""

    name = "buy_goods"

    async def run(self, ctx: Context) -> Plan:
        """Check, let the merchant validate it, then plan the payment and the merchant's fee."""
        offered(ctx, self.name)
        payer = ctx.initiator(PartyKind.CUSTOMER)
        command = ctx.command_as(commands.BuyGoods)
        till = command.till
        merchant = collector(ctx, PartyKind.MERCHANT, till, Code.UNKNOWN_TILL, "this till")
        amount = command.amount
        ctx.check_limits(payer, self.name, amount)
        fee = ctx.profile.fee(self.name, amount)
        excise = ctx.profile.excise(fee.customer) + ctx.profile.excise(fee.business)
        received_into = ctx.account(merchant, Purpose.TILL)
        payment = await ctx.validate(ctx.payment_to(payer, merchant, amount, "", received_into))
        await ctx.verify_pin(payer)
        payer_number = mask_msisdn(payer.msisdn, ctx.profile.country) if payer.msisdn else ""
        charge = f" less charge {ctx.money(fee.business)}" if fee.business else ""
        return two_party(
            self.name,
            Side(
                payer,
                ctx.account(payer, Purpose.WALLET),
                f"Merchant Payment to {display_name(merchant)}",
                "buy_goods.payer",
                {
                    "amount": ctx.money(amount),
                    "name": display_name(merchant),
                    "fee": ctx.money(fee.customer),
                },
            ),
            Side(
                merchant,
                received_into,
                f"Payment from {masked(payer)}{charge}",
                "buy_goods.merchant" if merchant.msisdn else "",
                {"amount": ctx.money(amount), "name": masked(payer), "msisdn": payer_number},
            ),
            amount,
            charges=Charges(
                fee=fee.customer, business_fee=fee.business, withheld=fee.business, excise=excise
            ),
            reference=till,
            event=payment,
            usage=amount,
            message=f"{ctx.money(amount)} paid to {display_name(merchant)}."
            f" Transaction cost {ctx.money(fee.customer)}.",
            data={"amount": amount, "fee": fee.customer, "till": till, "merchant": merchant.name},
        )
