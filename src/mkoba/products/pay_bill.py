"""Pay bill: a customer pays an organisation's paybill number, with an account reference.

The organisation chose a tariff (``party.tariff``): the customer pays the fee
(customer_bears), the business does (business_bears), or they share it
(shared, M-Pesa's "Mgao"). Every leg leaves the payer's wallet: the business's
part of the fee is withheld from the amount on its way to the organisation's
utility account (on a channel with a delivery deadline the legs are pending, and
a pending credit cannot pay a fee in the same linked set).
"""

from __future__ import annotations

from mkoba.catalog import Fee
from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import Party, PartyKind, Purpose
from mkoba.processor.context import Context
from mkoba.processor.plan import Plan, Refused
from mkoba.products.common import display_name, offered
from mkoba.products.transfer import Charges, Side, collector, two_party

# Daraja's BillRefNumber holds at most 20 characters; so do we.
account_length_max = 20


def account_reference(account: str) -> str:
    """The account number at the business: up to 20 letters, digits, spaces or - / . #."""
    text = " ".join(account.split())
    if not text:
        raise Refused(Code.INVALID_INPUT, "account is required")
    if len(text) > account_length_max:
        raise Refused(Code.INVALID_INPUT, f"account: at most {account_length_max} characters")
    if not all(c.isalnum() or c in " -/.#" for c in text):
        raise Refused(Code.INVALID_INPUT, "account: letters, digits, spaces and - / . # only")
    return text


def biller_fee(ctx: Context, biller: Party, amount: int) -> Fee:
    """The fee under the biller's tariff, or the profile's default one where it has no such."""
    variants = ctx.profile.variants("pay_bill")
    variant = biller.tariff if biller.tariff in variants else None
    try:
        return ctx.profile.fee("pay_bill", amount, variant)
    except KeyError:
        raise Refused(
            Code.ACCOUNT_INACTIVE, "this business cannot take payments under the current tariff"
        ) from None


class PayBill:
    """M-Pesa's "Lipa na M-PESA, Pay Bill"."""

    name = "pay_bill"

    async def run(self, ctx: Context) -> Plan:
        """Check, let the business validate it, then plan payment, fees and excise."""
        offered(ctx, self.name)
        payer = ctx.initiator(PartyKind.CUSTOMER)
        command = ctx.command_as(commands.PayBill)
        number = command.paybill
        biller = collector(
            ctx, PartyKind.ORGANISATION, number, Code.UNKNOWN_PAYBILL, "this business"
        )
        reference = account_reference(command.account)
        amount = command.amount
        ctx.check_limits(payer, self.name, amount)
        fee = biller_fee(ctx, biller, amount)
        customer_excise = ctx.profile.excise(fee.customer)
        business_excise = ctx.profile.excise(fee.business)
        received_into = ctx.account(biller, Purpose.UTILITY)
        payment = await ctx.validate(
            ctx.payment_to(payer, biller, amount, reference, received_into)
        )
        await ctx.verify_pin(payer)
        charge = f" less charge {ctx.money(fee.business)}" if fee.business else ""
        return two_party(
            self.name,
            Side(
                payer,
                ctx.account(payer, Purpose.WALLET),
                f"Pay Bill to {display_name(biller)} Acc. {reference}",
                "pay_bill.payer",
                {
                    "amount": ctx.money(amount),
                    "name": display_name(biller),
                    "account": reference,
                    "fee": ctx.money(fee.customer),
                },
            ),
            Side(
                biller,
                received_into,
                f"Payment from {display_name(payer)} Acc. {reference}{charge}",
            ),
            amount,
            charges=Charges(
                fee=fee.customer,
                business_fee=fee.business,
                withheld=fee.business,
                excise=customer_excise + business_excise,
            ),
            reference=reference,
            event=payment,
            usage=amount,
            message=f"{ctx.money(amount)} paid to {display_name(biller)} for account"
            f" {reference}. Transaction cost {ctx.money(fee.customer)}.",
            data={
                "amount": amount,
                "fee": fee.customer,
                "paybill": number,
                "account": reference,
                "business": biller.name,
            },
        )
