"""Withdraw at an agent (cash-out): the customer's e-money to the store's float, less the fee."""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import PartyKind, Purpose
from mkoba.processor.context import Context
from mkoba.processor.plan import Plan, Refused
from mkoba.products.common import commission_leg, display_name, display_number
from mkoba.products.transfer import Charges, Side, two_party


class Withdraw:
    """The customer names the agent and store, sees the store's name, and confirms with the PIN."""

    name = "withdraw"

    async def run(self, ctx: Context) -> Plan:
        """Check, then plan: wallet to float, fee (with excise) to the operator, commission out."""
        client = ctx.initiator(PartyKind.CUSTOMER)
        command = ctx.command_as(commands.Withdraw)
        agent_number, store_number = command.agent, command.store or "1"
        store = ctx.directory.by_number(PartyKind.AGENT_STORE, f"{agent_number}/{store_number}")
        if store is None or not store.active:
            raise Refused(Code.UNKNOWN_AGENT)
        amount = command.amount
        ctx.check_limits(client, self.name, amount)
        fee = ctx.profile.fee(self.name, amount).customer
        excise = ctx.profile.excise(fee)
        commission = ctx.profile.commission(self.name, amount)
        await ctx.verify_pin(client)
        source = ctx.account(client, Purpose.WALLET)
        target = ctx.account(store, Purpose.FLOAT)
        return two_party(
            self.name,
            Side(
                client,
                source,
                f"Withdrawal at {display_name(store)}",
                "withdraw.customer",
                {
                    "amount": ctx.money(amount),
                    "agent": display_name(store),
                    "agent_number": agent_number,
                    "fee": ctx.money(fee),
                },
            ),
            Side(
                store,
                target,
                f"Withdrawal by {display_name(client)}",
                "withdraw.agent",
                {
                    "amount": ctx.money(amount),
                    "name": display_name(client),
                    "msisdn": display_number(ctx, client),
                },
            ),
            amount,
            charges=Charges(
                fee=fee,
                excise=excise,
                commission=commission,
                commission_legs=tuple(commission_leg(ctx, store, commission)),
            ),
            reference=f"{agent_number}/{store_number}",
            usage=amount,
            message=f"Withdraw {ctx.money(amount)} from {agent_number} - {display_name(store)}."
            f" Transaction cost {ctx.money(fee)}.",
            data={"amount": amount, "fee": fee, "agent": store.name},
        )
