"""Buy a gift voucher: a small amount for any phone, used at a till or cashed into a wallet.

The buyer pays the amount into the operator's gift account, and the
``buy_gift`` fee if the tariff has one (the tariff's maximum caps a gift:
Ksh 5,000 in Kenya). The recipient, registered or not, gets an SMS with a code
(only its keyed digest is kept); they pay a till with it (``redeem_gift``) or,
registered, put it in their wallet (``cash_gift``) within the profile's
``gifts.validity``. After that the background work gives the money back to
the buyer, the fee kept (``app_sweep``).
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import requests as commands
from mkoba.parties import OPERATOR_ID, PartyKind, Purpose, local_msisdn
from mkoba.processor.context import Context
from mkoba.processor.plan import Leg, Line, Note, Plan, Refused
from mkoba.products import gift_book
from mkoba.products.common import display_name, display_number, fee_legs, offered
from mkoba.products.kit import Kit
from mkoba.products.vouchers import expiry_text


class BuyGift:
    """A customer buys a gift voucher for a phone number."""

    name = gift_book.PRODUCT

    def __init__(self, kit: Kit) -> None:
        self.kit = kit

    async def run(self, ctx: Context) -> Plan:
        """Check the amount and the recipient's number, then plan the gift and its fee."""
        offered(ctx, self.name)
        buyer = ctx.initiator(PartyKind.CUSTOMER)
        command = ctx.command_as(commands.BuyGift)
        to, amount = command.to, command.amount
        if to == buyer.msisdn:
            raise Refused(Code.SAME_ACCOUNT, "A gift is for someone else's number.")
        ctx.check_limits(buyer, self.name, amount)
        fee = ctx.profile.fee(self.name, amount).customer
        excise = ctx.profile.excise(fee)
        key = self.kit.key()
        await ctx.verify_pin(buyer)
        source = ctx.account(buyer, Purpose.WALLET)
        code = gift_book.new_code()
        expires = ctx.now + int(ctx.profile.gifts.validity.total_seconds()) * 1_000_000_000
        row = gift_book.issue_row(
            ctx.request.id,
            gift_book.digest(key, to, code),
            buyer.id,
            to,
            amount,
            fee,
            ctx.now,
            expires,
        )
        local = local_msisdn(to, ctx.profile.country)
        last_day = expiry_text(ctx, expires)
        legs = (Leg(source, gift_book.GIFTS, amount), *fee_legs(source, fee, excise))
        recipient = ctx.directory.by_msisdn(to)
        language = recipient.language if recipient is not None else buyer.language
        return Plan(
            product=self.name,
            payer_id=buyer.id,
            payee_id=OPERATOR_ID,
            amount=amount,
            legs=legs,
            fee=fee,
            excise=excise,
            reference=to,
            records=(row,),
            notes=(
                Note(
                    buyer.msisdn or "",
                    buyer.language,
                    "gift.buyer",
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
                    language,
                    "gift.recipient",
                    {
                        "amount": ctx.money(amount),
                        "name": display_name(buyer),
                        "msisdn": display_number(ctx, buyer),
                        "code": code,
                        "expires": last_day,
                    },
                    secret=True,
                ),
            ),
            lines=(Line(buyer.id, source, f"Gift to {local}", -(amount + fee)),),
            usage=amount,
            balance_of=source,
            message=f"A gift of {ctx.money(amount)} sent to {local}; it can be used until"
            f" {last_day}. Transaction cost {ctx.money(fee)}.",
            data={"amount": amount, "fee": fee, "recipient": to, "expires": expires},
        )
