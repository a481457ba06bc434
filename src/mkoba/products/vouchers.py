"""Send to an unregistered number: the money waits in a voucher the recipient cashes at an agent.

The sender pays the amount into the operator's voucher account and the
"send_unregistered" fee. The recipient gets an SMS with a code to show, with an
ID, at any agent within the profile's validity (M-Pesa: 7 days); after that the
money goes back to the sender, the fee kept (``background.sweep``). The Kenya
profile switched this off on 2024-02-05, as M-Pesa did; the campus one has it.
"""

from __future__ import annotations

import datetime as dt

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import OPERATOR_ID, Party, PartyKind, PartyState, Purpose, local_msisdn
from mkoba.processor.context import Context
from mkoba.processor.plan import Leg, Line, Note, Plan, Refused
from mkoba.products import voucher_book
from mkoba.products.common import display_name, display_number, fee_legs, offered
from mkoba.products.kit import Kit

PRODUCT = "send_unregistered"


def expiry_text(ctx: Context, expires: int) -> str:
    """The last day to collect, as the recipient reads it (``30/11/26``)."""
    return dt.datetime.fromtimestamp(expires / 1e9, ctx.profile.timezone).strftime("%d/%m/%y")


async def plan_voucher(ctx: Context, kit: Kit, sender: Party, to: str, amount: int) -> Plan:
    """The plan of a send to ``to``, an unregistered number: amount into a voucher, and the fee.

    ``send_money`` hands sends to unregistered numbers here when the profile
    allows vouchers; the voucher's row is written before the plan commits and
    counts only once the send's receipt is completed.
    """
    rules = ctx.profile.voucher
    if not rules.enabled or PRODUCT not in ctx.profile.products:
        raise Refused(Code.RECIPIENT_NOT_REGISTERED)
    if amount > rules.transaction_max:
        raise Refused(
            Code.ABOVE_MAXIMUM,
            f"You can send at most {ctx.money(rules.transaction_max)} to an unregistered number.",
        )
    ctx.check_limits(sender, PRODUCT, amount)
    fee = ctx.profile.fee(PRODUCT, amount).customer
    excise = ctx.profile.excise(fee)
    key = kit.key()
    await ctx.verify_pin(sender)
    source = ctx.account(sender, Purpose.WALLET)
    code = voucher_book.new_code()
    expires = ctx.now + int(rules.validity.total_seconds()) * 1_000_000_000
    row = voucher_book.issue_row(
        ctx.request.id,
        voucher_book.digest(key, to, code),
        sender.id,
        to,
        amount,
        fee,
        ctx.now,
        expires,
    )
    local = local_msisdn(to, ctx.profile.country)
    last_day = expiry_text(ctx, expires)
    legs = (Leg(source, voucher_book.VOUCHERS, amount), *fee_legs(source, fee, excise))
    assert len(legs) <= 3
    return Plan(
        product=PRODUCT,
        payer_id=sender.id,
        payee_id=OPERATOR_ID,
        amount=amount,
        legs=legs,
        fee=fee,
        excise=excise,
        reference=to,
        records=(row,),
        notes=(
            Note(
                sender.msisdn or "",
                sender.language,
                "voucher.payer",
                {
                    "amount": ctx.money(amount),
                    "msisdn": local,
                    "expires": last_day,
                    "fee": ctx.money(fee),
                },
                source,
            ),
            Note(
                to,
                sender.language,
                "voucher.recipient",
                {
                    "amount": ctx.money(amount),
                    "name": display_name(sender),
                    "msisdn": display_number(ctx, sender),
                    "code": code,
                    "expires": last_day,
                },
                secret=True,
            ),
        ),
        lines=(Line(sender.id, source, f"Sent to {local} (voucher)", -(amount + fee)),),
        usage=amount,
        balance_of=source,
        message=f"{ctx.money(amount)} sent to {local}, who is not registered: they can collect"
        f" it at any agent by {last_day}. Transaction cost {ctx.money(fee)}.",
        data={"amount": amount, "fee": fee, "recipient": to, "expires": expires},
    )


class SendUnregistered:
    """Send money to a number that is not registered (a voucher)."""

    name = PRODUCT

    def __init__(self, kit: Kit) -> None:
        self.kit = kit

    async def run(self, ctx: Context) -> Plan:
        """Check that the number is unregistered and vouchers are on, then plan the voucher."""
        offered(ctx, self.name)
        if not ctx.profile.voucher.enabled:
            raise Refused(Code.UNKNOWN_PRODUCT, "Sending to unregistered numbers is switched off.")
        sender = ctx.initiator(PartyKind.CUSTOMER)
        command = ctx.command_as(commands.PayPerson)
        to, amount = command.to, command.amount
        recipient = ctx.directory.by_msisdn(to)
        if recipient is not None and recipient.state != PartyState.UNREGISTERED:
            raise Refused(Code.ALREADY_REGISTERED, "That number is registered: use Send Money.")
        return await plan_voucher(ctx, self.kit, sender, to, amount)
