"""Balance: what the requester holds (a wallet, or an agent store's float)."""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.parties import PartyKind, Purpose
from mkoba.processor.context import Context
from mkoba.processor.request import Response
from mkoba.products.common import store_of

_HELD = {
    PartyKind.CUSTOMER: Purpose.WALLET,
    PartyKind.AGENT_STORE: Purpose.FLOAT,
    PartyKind.AGENT_ASSISTANT: Purpose.FLOAT,
    PartyKind.MERCHANT: Purpose.TILL,
    PartyKind.SUPER_AGENT: Purpose.FLOAT,
    PartyKind.AGENT_HEAD_OFFICE: Purpose.COMMISSION,
}


class Balance:
    """M-Pesa's "Check balance": free, PIN required."""

    name = "balance"

    async def run(self, ctx: Context) -> Response:
        """The available and reserved amounts of the requester's main account."""
        party = ctx.initiator()
        await ctx.verify_pin(party)
        holder = store_of(ctx, party) if party.kind == PartyKind.AGENT_ASSISTANT else party
        purpose = _HELD.get(holder.kind, Purpose.WALLET)
        account = ctx.account(holder, purpose)
        (balance,) = await ctx.balances([account])
        available = balance.available
        message = f"Your {purpose.name.lower()} balance is {ctx.money(available)}."
        if balance.debits_pending:
            message += f" {ctx.money(balance.debits_pending)} is on hold."
        return Response(
            ctx.request.id,
            Code.OK,
            message,
            None,
            {
                "account": purpose.name.lower(),
                "balance": available,
                "reserved": balance.debits_pending,
                "incoming": balance.credits_pending,
                "currency": ctx.profile.currency.code,
            },
        )
