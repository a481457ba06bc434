"""Buy goods: a customer pays a merchant's till. Free to the customer; the merchant pays.

The merchant's fee (M-Pesa's "Mauzo" rate) is withheld from the amount on its
way to the till, so every leg leaves the payer's wallet (pending legs cannot
spend a pending credit, and a new till holds nothing yet). The merchant sees the
payer's name and number masked, as M-Pesa has shown them to tills since 2021.
"""

from __future__ import annotations

from mkoba.parties import PartyKind, Purpose, mask_msisdn
from mkoba.processor.codes import Code
from mkoba.processor.context import Context
from mkoba.processor.hooks import Payment
from mkoba.processor.plan import Leg, Line, Note, Plan, Refused
from mkoba.products.common import display_name, fee_legs, masked, offered


class BuyGoods:
    """M-Pesa's "Lipa na M-PESA, Buy Goods and Services"."""

    name = "buy_goods"

    async def run(self, ctx: Context) -> Plan:
        """Check, ask the merchant's hooks, then plan the payment and the merchant's fee."""
        offered(ctx, self.name)
        payer = ctx.initiator(PartyKind.CUSTOMER)
        till = ctx.param("till")
        merchant = ctx.directory.by_number(PartyKind.MERCHANT, till)
        if merchant is None:
            raise Refused(Code.UNKNOWN_TILL)
        if not merchant.active:
            raise Refused(Code.ACCOUNT_INACTIVE, "this till cannot take payments now")
        amount = ctx.amount()
        ctx.check_limits(payer, self.name, amount)
        fee = ctx.profile.fee(self.name, amount)
        excise = ctx.profile.excise(fee.customer) + ctx.profile.excise(fee.business)
        net = amount - fee.business
        assert net >= 0
        payment = Payment(self.name, payer, merchant, amount, "")
        await ctx.services.hooks.validate(ctx, payment)
        await ctx.verify_pin(payer)
        source = ctx.account(payer, Purpose.WALLET)
        target = ctx.account(merchant, Purpose.TILL)
        payer_number = mask_msisdn(payer.msisdn, ctx.profile.country) if payer.msisdn else ""
        notes = [
            Note(
                payer.msisdn or "",
                payer.language,
                "buy_goods.payer",
                {
                    "amount": ctx.money(amount),
                    "name": display_name(merchant),
                    "fee": ctx.money(fee.customer),
                },
                source,
            )
        ]
        if merchant.msisdn:
            notes.append(
                Note(
                    merchant.msisdn,
                    merchant.language,
                    "buy_goods.merchant",
                    {"amount": ctx.money(amount), "name": masked(payer), "msisdn": payer_number},
                    target,
                )
            )
        charge = f" less charge {ctx.money(fee.business)}" if fee.business else ""
        lines = (
            Line(
                payer.id,
                source,
                f"Merchant Payment to {display_name(merchant)}",
                -(amount + fee.customer),
            ),
            Line(merchant.id, target, f"Payment from {masked(payer)}{charge}", net),
        )
        return Plan(
            product=self.name,
            payer_id=payer.id,
            payee_id=merchant.id,
            amount=amount,
            legs=(
                *([Leg(source, target, net)] if net else []),
                *fee_legs(source, fee.total, excise),
            ),
            fee=fee.customer,
            business_fee=fee.business,
            excise=excise,
            reference=till,
            notes=(*notes, *ctx.services.hooks.notes(ctx, payment)),
            rows=ctx.services.hooks.rows(ctx, payment),
            lines=lines,
            usage=amount,
            balance_of=source,
            message=f"{ctx.money(amount)} paid to {display_name(merchant)}."
            f" Transaction cost {ctx.money(fee.customer)}.",
            data={"amount": amount, "fee": fee.customer, "till": till, "merchant": merchant.name},
        )
