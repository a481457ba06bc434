"""B2B: a business pays another (paybill, till), tops up a B2C shortcode, or moves its own float.

Payments to others come from the payer's WORKING account (a till: its TILL) and
land in the payee's UTILITY (a paybill, a B2C shortcode) or TILL (a till), with
the catalog's ``b2b`` charge on the payer. A business moving money between its
own two accounts pays nothing.
"""

from __future__ import annotations

from mkoba.parties import Party, PartyKind, Purpose
from mkoba.processor.codes import Code
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
from mkoba.products.common import fee_legs

# Payments to another business: what the payee must be.
PAYMENTS = {
    "BusinessPayBill": (PartyKind.ORGANISATION,),
    "BusinessBuyGoods": (PartyKind.MERCHANT,),
    "BusinessPayToBulk": (PartyKind.ORGANISATION,),
}
# Moves between a business's own accounts: (from, to).
MOVES = {
    "BusinessTransferFromMMFToUtility": (Purpose.WORKING, Purpose.UTILITY),
    "BusinessTransferFromUtilityToMMF": (Purpose.UTILITY, Purpose.WORKING),
}
_REASONS = {
    "BusinessPayBill": "Business Pay Bill",
    "BusinessBuyGoods": "Business Buy Goods",
    "BusinessPayToBulk": "Business Pay to Bulk",
    "BusinessTransferFromMMFToUtility": "Transfer from MMF to Utility",
    "BusinessTransferFromUtilityToMMF": "Transfer from Utility to MMF",
}


class B2B:
    """Business to business, as Daraja's B2B payment request asks for it."""

    name = "b2b"
    proof = Proof.BUSINESS

    async def run(self, ctx: Context) -> Plan:
        """Check both businesses and the amount, then plan the payment (or the move)."""
        check_channel(ctx)
        offered(ctx, self.name)
        command = ctx.param("command")
        if command not in PAYMENTS and command not in MOVES:
            known = sorted([*PAYMENTS, *MOVES])
            raise Refused(Code.INVALID_INPUT, f"command must be one of {known}")
        payer = business(ctx, ctx.param("shortcode"))
        amount = ctx.amount()
        ctx.check_amount(self.name, amount)
        if command in MOVES:
            return self._move(ctx, command, payer, amount)
        target = payee(ctx, ctx.param("target"), PAYMENTS[command])
        if target.id == payer.id and command != "BusinessPayToBulk":
            raise Refused(Code.SAME_ACCOUNT)
        reference = ctx.param("account", required=command == "BusinessPayBill")
        fee = ctx.profile.fee(self.name, amount).business
        excise = ctx.profile.excise(fee)
        source = float_account(ctx, payer)
        destination = collection_account(ctx, target)
        if source == destination:
            raise Refused(Code.SAME_ACCOUNT)
        reason = _REASONS[command]
        return Plan(
            product=self.name,
            payer_id=payer.id,
            payee_id=target.id,
            amount=amount,
            legs=(Leg(source, destination, amount), *fee_legs(source, fee, excise)),
            business_fee=fee,
            excise=excise,
            reference=reference,
            lines=(
                Line(payer.id, source, f"{reason} to {public_name(target)}", -(amount + fee)),
                Line(target.id, destination, f"{reason} from {public_name(payer)}", amount),
            ),
            balance_of=source,
            message=f"{ctx.money(amount)} paid to {public_name(target)}.",
            data={
                "amount": amount,
                "fee": fee,
                "command": command,
                "reason": reason,
                "receiver": public_name(target),
                "payer": public_name(payer),
                "reference": reference,
            },
        )

    def _move(self, ctx: Context, command: str, party: Party, amount: int) -> Plan:
        """Money between a business's own WORKING and UTILITY accounts, free."""
        if party.kind != PartyKind.ORGANISATION:
            raise Refused(Code.NOT_ALLOWED, "only an organisation has two accounts to move between")
        if ctx.param("target", required=False) not in ("", party.number):
            raise Refused(Code.INVALID_INPUT, "a transfer between own accounts names itself")
        from_purpose, to_purpose = MOVES[command]
        source = ctx.account(party, from_purpose)
        destination = ctx.account(party, to_purpose)
        reason = _REASONS[command]
        return Plan(
            product=self.name,
            payer_id=party.id,
            payee_id=party.id,
            amount=amount,
            legs=(Leg(source, destination, amount),),
            lines=(
                Line(party.id, source, reason, -amount),
                Line(party.id, destination, reason, amount),
            ),
            balance_of=source,
            message=f"{ctx.money(amount)} moved: {reason}.",
            data={
                "amount": amount,
                "fee": 0,
                "command": command,
                "reason": reason,
                "receiver": public_name(party),
                "payer": public_name(party),
                "reference": "",
            },
        )
