"""Send money to a registered number: amount to the recipient, fee and excise to the operator."""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import PartyKind, PartyState, Purpose
from mkoba.processor.context import Context
from mkoba.processor.plan import Plan, Record, Refused
from mkoba.processor.request import Response
from mkoba.products.common import display_name, display_number
from mkoba.products.kit import Kit
from mkoba.products.transfer import Charges, Side, two_party


class SendMoney:
    """M-Pesa's "Send Money"."""

    name = "send_money"

    def __init__(self, kit: Kit) -> None:
        self.kit = kit

    async def run(self, ctx: Context) -> Response | Plan | Record:
        """Check, then plan the transfer; vouchers when the profile allows unregistered sends."""
        sender = ctx.initiator(PartyKind.CUSTOMER)
        command = ctx.command_as(commands.PayPerson)
        to, amount = command.to, command.amount
        recipient = ctx.directory.by_msisdn(to)
        if recipient is None or recipient.state == PartyState.UNREGISTERED:
            if ctx.profile.voucher.enabled and "send_unregistered" in ctx.profile.products:
                from mkoba.products.vouchers import plan_voucher

                return await plan_voucher(ctx, self.kit, sender, to, amount)
            raise Refused(Code.RECIPIENT_NOT_REGISTERED)
        if recipient.id == sender.id:
            raise Refused(Code.SAME_ACCOUNT)
        if recipient.kind != PartyKind.CUSTOMER or not recipient.active:
            raise Refused(Code.ACCOUNT_INACTIVE, "the recipient's account cannot receive money")
        ctx.check_limits(sender, self.name, amount)
        fee = ctx.profile.fee(self.name, amount).customer
        excise = ctx.profile.excise(fee)
        await ctx.verify_pin(sender)
        source = ctx.account(sender, Purpose.WALLET)
        target = ctx.account(recipient, Purpose.WALLET)
        return two_party(
            self.name,
            Side(
                sender,
                source,
                f"Sent to {display_name(recipient)}",
                "send_money.payer",
                {
                    "amount": ctx.money(amount),
                    "name": display_name(recipient),
                    "msisdn": display_number(ctx, recipient),
                    "fee": ctx.money(fee),
                },
            ),
            Side(
                recipient,
                target,
                f"Received from {display_name(sender)}",
                "send_money.payee",
                {
                    "amount": ctx.money(amount),
                    "name": display_name(sender),
                    "msisdn": display_number(ctx, sender),
                },
            ),
            amount,
            charges=Charges(fee=fee, excise=excise),
            reference=to,
            usage=amount,
            message=f"{ctx.money(amount)} sent to {display_name(recipient)}"
            f" {display_number(ctx, recipient)}. Transaction cost {ctx.money(fee)}.",
            data={"amount": amount, "fee": fee, "recipient": recipient.name},
        )
