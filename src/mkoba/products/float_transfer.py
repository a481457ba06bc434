"""Agent float: e-float between the stores of one head office, and to or from a super-agent.

Who may move what (M-Pesa's float rebalancing):
- a head office owner, between any two of its stores (``source`` names the store);
- a store operator, from its store to a sibling store (same head office);
- a store operator, to a super-agent (selling e-float back for cash);
- a super-agent, to any store (selling e-float to an agent).
Moves across head offices, between super-agents, or by an assistant are
refused (``NOT_ALLOWED``); the float may never go below zero
(``INSUFFICIENT_FLOAT``). Free of charge.
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import Party, PartyKind, Purpose
from mkoba.processor.context import Context
from mkoba.processor.plan import Leg, Line, Note, Plan, Refused
from mkoba.products.common import display_name, offered


def float_holder(ctx: Context, number: str) -> Party:
    """A store (``agent/store``) or a super-agent (its number) that holds float."""
    kind = PartyKind.AGENT_STORE if "/" in number else PartyKind.SUPER_AGENT
    party = ctx.directory.by_number(kind, number)
    if party is None:
        raise Refused(Code.UNKNOWN_AGENT)
    if not party.active:
        raise Refused(Code.ACCOUNT_INACTIVE, f"{display_name(party)} cannot move float now")
    return party


def _source(ctx: Context, initiator: Party, number: str) -> Party:
    """Whose float leaves: the initiator's own, or (a head office) the store it names."""
    if initiator.kind != PartyKind.AGENT_HEAD_OFFICE:
        if number:
            raise Refused(Code.INVALID_INPUT, "source: only a head office names the store")
        return initiator
    if not number:
        raise Refused(Code.INVALID_INPUT, "source is required")
    if "/" not in number:
        number = f"{initiator.number}/{number}"
    store = float_holder(ctx, number)
    if store.kind != PartyKind.AGENT_STORE or store.parent_id != initiator.id:
        raise Refused(Code.NOT_ALLOWED, "a head office moves float only between its own stores")
    return store


def _check_move(source: Party, target: Party) -> None:
    if source.id == target.id:
        raise Refused(Code.SAME_ACCOUNT, "The float would go to the store it comes from.")
    stores = (source.kind == PartyKind.AGENT_STORE, target.kind == PartyKind.AGENT_STORE)
    if stores == (False, False):
        raise Refused(Code.NOT_ALLOWED, "super-agents move float only to and from stores")
    if stores == (True, True) and (source.parent_id == 0 or source.parent_id != target.parent_id):
        raise Refused(Code.NOT_ALLOWED, "float moves only between stores of the same head office")


class FloatTransfer:
    """Move e-float; both sides are told by SMS with their new float balance."""

    name = "float_transfer"

    async def run(self, ctx: Context) -> Plan:
        """Check who moves what where, then plan one float-to-float leg."""
        offered(ctx, self.name)
        initiator = ctx.initiator(
            PartyKind.AGENT_HEAD_OFFICE, PartyKind.AGENT_STORE, PartyKind.SUPER_AGENT
        )
        command = ctx.command_as(commands.FloatTransfer)
        source = _source(ctx, initiator, command.source)
        target = float_holder(ctx, command.to)
        _check_move(source, target)
        amount = command.amount
        ctx.check_amount(self.name, amount)
        await ctx.verify_pin(initiator)
        source_account = ctx.account(source, Purpose.FLOAT)
        target_account = ctx.account(target, Purpose.FLOAT)
        money = ctx.money(amount)
        notes = [
            Note(
                source.msisdn or "",
                source.language,
                "float.sent",
                {"amount": money, "name": display_name(target), "number": target.number or ""},
                source_account,
            ),
            Note(
                target.msisdn or "",
                target.language,
                "float.received",
                {"amount": money, "name": display_name(source), "number": source.number or ""},
                target_account,
            ),
        ]
        return Plan(
            product=self.name,
            payer_id=source.id,
            payee_id=target.id,
            amount=amount,
            legs=(Leg(source_account, target_account, amount, short=Code.INSUFFICIENT_FLOAT),),
            reference=target.number or "",
            notes=tuple(note for note in notes if note.recipient),
            lines=(
                Line(source.id, source_account, f"Float to {display_name(target)}", -amount),
                Line(target.id, target_account, f"Float from {display_name(source)}", amount),
            ),
            balance_of=source_account,
            message=f"{money} of float moved from {display_name(source)} to"
            f" {display_name(target)}.",
            data={"amount": amount, "from": source.number, "to": target.number},
        )
