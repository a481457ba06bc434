"""Deposit at an agent (cash-in): store float to customer wallet, commission to the agent."""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import PartyKind, Purpose
from mkoba.processor.context import Context
from mkoba.processor.plan import Plan
from mkoba.products.common import commission_leg, customer, display_name, display_number, store_of
from mkoba.products.transfer import Charges, Side, two_party


class Deposit:
    """An agent takes cash and gives the customer e-money. Free to the customer."""

    name = "deposit"

    async def run(self, ctx: Context) -> Plan:
        """Check, then plan: float to wallet, commission from fee income to the agent."""
        operator = ctx.initiator(PartyKind.AGENT_STORE, PartyKind.AGENT_ASSISTANT)
        store = store_of(ctx, operator)
        command = ctx.command_as(commands.PayPerson)
        client = customer(ctx, command.to)
        amount = command.amount
        ctx.check_amount(self.name, amount)
        commission = ctx.profile.commission(self.name, amount)
        await ctx.verify_pin(operator)
        source = ctx.account(store, Purpose.FLOAT)
        target = ctx.account(client, Purpose.WALLET)
        return two_party(
            self.name,
            Side(
                store,
                source,
                f"Deposit for {display_name(client)}",
                "deposit.agent",
                {
                    "amount": ctx.money(amount),
                    "name": display_name(client),
                    "msisdn": display_number(ctx, client),
                },
            ),
            Side(
                client,
                target,
                f"Deposit at {display_name(store)}",
                "deposit.customer",
                {"amount": ctx.money(amount), "agent": display_name(store)},
            ),
            amount,
            charges=Charges(
                commission=commission, commission_legs=tuple(commission_leg(ctx, store, commission))
            ),
            reference=client.msisdn or "",
            short=Code.INSUFFICIENT_FLOAT,
            payee_first=True,
            message=f"Deposited {ctx.money(amount)} to {display_name(client)}"
            f" {display_number(ctx, client)}.",
            data={"amount": amount, "customer": client.name, "commission": commission},
        )
