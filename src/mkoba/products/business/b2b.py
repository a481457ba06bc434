"""B2B: a business pays another (paybill, till), tops up a B2C shortcode, or moves its own float.

Payments to others come from the payer's WORKING account (a till: its TILL) and
land in the payee's UTILITY (a paybill, a B2C shortcode) or TILL (a till), with
the catalog's ``b2b`` charge on the payer. A business moving money between its
own two accounts pays nothing.
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import Party, PartyKind, Purpose
from mkoba.processor.context import Context
from mkoba.processor.plan import Plan, Refused
from mkoba.processor.proof import Proof
from mkoba.products.business.common import (
    collection_account,
    command_of,
    float_account,
    payee,
    public_name,
)
from mkoba.products.transfer import Charges, Side, two_party

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
        asked = ctx.command_as(commands.BusinessToBusiness)
        command = asked.command
        payer = command_of(ctx, self.name, command, asked.shortcode, _REASONS)
        amount = asked.amount
        ctx.check_amount(self.name, amount)
        if command in MOVES:
            return self._move(ctx, asked, payer, amount)
        if not asked.target:
            raise Refused(Code.INVALID_INPUT, "target is required")
        target = payee(ctx, asked.target, PAYMENTS[command])
        if target.id == payer.id and command != "BusinessPayToBulk":
            raise Refused(Code.SAME_ACCOUNT)
        reference = asked.account
        if command == "BusinessPayBill" and not reference:
            raise Refused(Code.INVALID_INPUT, "account is required")
        fee = ctx.profile.fee(self.name, amount).business
        excise = ctx.profile.excise(fee)
        source = float_account(ctx, payer)
        destination = collection_account(ctx, target)
        if source == destination:
            raise Refused(Code.SAME_ACCOUNT)
        reason = _REASONS[command]
        return two_party(
            self.name,
            Side(payer, source, f"{reason} to {public_name(target)}"),
            Side(target, destination, f"{reason} from {public_name(payer)}"),
            amount,
            charges=Charges(business_fee=fee, excise=excise),
            reference=reference,
            message=f"{ctx.money(amount)} paid to {public_name(target)}.",
            data=_data(amount, fee, command, target, payer, reference),
        )

    def _move(
        self, ctx: Context, asked: commands.BusinessToBusiness, party: Party, amount: int
    ) -> Plan:
        """Money between a business's own WORKING and UTILITY accounts, free."""
        if party.kind != PartyKind.ORGANISATION:
            raise Refused(Code.NOT_ALLOWED, "only an organisation has two accounts to move between")
        command = asked.command
        if asked.target not in ("", party.number):
            raise Refused(Code.INVALID_INPUT, "a transfer between own accounts names itself")
        from_purpose, to_purpose = MOVES[command]
        source = ctx.account(party, from_purpose)
        destination = ctx.account(party, to_purpose)
        reason = _REASONS[command]
        return two_party(
            self.name,
            Side(party, source, reason),
            Side(party, destination, reason),
            amount,
            message=f"{ctx.money(amount)} moved: {reason}.",
            data=_data(amount, 0, command, party, party, ""),
        )


def _data(
    amount: int, fee: int, command: str, receiver: Party, payer: Party, reference: str
) -> dict[str, object]:
    """What the result reports of a B2B payment or move."""
    return {
        "amount": amount,
        "fee": fee,
        "command": command,
        "reason": _REASONS[command],
        "receiver": public_name(receiver),
        "payer": public_name(payer),
        "reference": reference,
    }
