"""Account balance: what each of a business's accounts holds, as Daraja reports it.

For every account Daraja names for the business's kind (a paybill: Working,
Utility, Charges Paid, Organization Settlement; a till: Merchant, Working,
Charges Paid), the current (posted), available, reserved (pending debits) and
uncleared (pending credits) amounts. Accounts mkoba does not keep for that kind
read zero: charges come out of the account that pays them.
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.processor.context import Context
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response
from mkoba.products.business.common import ACCOUNT_NAMES, business, check_channel


class AccountBalance:
    """Daraja's ``AccountBalance`` query."""

    name = "account_balance"
    proof = Proof.BUSINESS

    async def run(self, ctx: Context) -> Response:
        """The balances of the business's accounts, in minor units."""
        check_channel(ctx)
        party = business(ctx, ctx.command_as(commands.AccountBalance).shortcode)
        names = ACCOUNT_NAMES[party.kind]
        held = [
            (name, ctx.directory.account(party.id, purpose) if purpose else None)
            for name, purpose in names
        ]
        found = await ctx.balances([account for _, account in held if account])
        balances = iter(found)
        accounts: list[list[str | int]] = []
        for name, account in held:
            if not account:
                accounts.append([name, 0, 0, 0, 0])
                continue
            balance = next(balances)
            current = balance.credits_posted - balance.debits_posted
            accounts.append(
                [name, current, balance.available, balance.debits_pending, balance.credits_pending]
            )
        return Response(
            ctx.request.id,
            Code.OK,
            "; ".join(f"{account[0]} {ctx.money(int(account[1]))}" for account in accounts),
            None,
            {"accounts": accounts, "currency": ctx.profile.currency.code, "name": party.name},
        )
