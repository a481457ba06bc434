"""Queries and settings for agents and everyone: the commission statement, the language.

An agent's commission is credited to its head office (or to a store without
one, to the store itself): the head office sees its balance and the last five
commissions earned by any of its stores; a store sees the same balance and
its own last five.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import Change, Party, PartyKind, Purpose
from mkoba.processor import history
from mkoba.processor.context import Context
from mkoba.processor.plan import Record, Refused
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response

# Commission credits a statement shows, as a mini statement shows five lines.
commissions_shown_max = 5
LANGUAGES = {"en": "English", "sw": "Kiswahili"}
_DONE = {"en": "Your language is now English.", "sw": "Lugha yako sasa ni Kiswahili."}


def _earner(ctx: Context, party: Party) -> tuple[Party, list[int]]:
    """Whose commission account to show, and the stores whose commissions to list."""
    if party.kind == PartyKind.AGENT_HEAD_OFFICE:
        return party, [store.id for store in ctx.directory.children(party.id)]
    office = ctx.directory.get(party.parent_id) if party.parent_id else None
    if office is not None and office.kind == PartyKind.AGENT_HEAD_OFFICE:
        return office, [party.id]
    return party, [party.id]


class CommissionStatement:
    """The commission balance and its last five credits."""

    name = "commission_statement"

    async def run(self, ctx: Context) -> Response:
        """Balance of the commission account, then the newest commissions of the stores."""
        party = ctx.initiator(PartyKind.AGENT_HEAD_OFFICE, PartyKind.AGENT_STORE)
        await ctx.verify_pin(party)
        owner, stores = _earner(ctx, party)
        account = ctx.account(owner, Purpose.COMMISSION)
        (balance,) = await ctx.balances([account])
        entries = await self._latest(ctx, stores)
        text = "; ".join(
            f"{entry['receipt']} {entry['product']} {ctx.money(int(str(entry['commission'])))}"
            for entry in entries
        )
        message = f"Commission balance {ctx.money(balance.available)}."
        message += f" Last: {text}." if text else " No commission yet."
        return Response(
            ctx.request.id,
            Code.OK,
            message,
            None,
            {
                "balance": balance.available,
                "currency": ctx.profile.currency.code,
                "entries": entries,
            },
        )

    async def _latest(self, ctx: Context, stores: list[int]) -> list[dict[str, object]]:
        if not stores:
            return []
        found = await asyncio.to_thread(
            history.commissions, ctx.services.store, stores, commissions_shown_max
        )
        tz = ctx.profile.timezone
        return [
            {
                "receipt": receipt.receipt,
                "product": receipt.product,
                "commission": receipt.commission,
                "amount": receipt.amount,
                "at": dt.datetime.fromtimestamp(receipt.completed / 1e9, tz).isoformat(
                    timespec="seconds"
                ),
            }
            for receipt in found
        ]


class SetLanguage:
    """Choose English or Kiswahili for menus and messages.

    Like M-Pesa's menu, it needs no PIN where the network says which phone asks
    (the USSD menu sends none); elsewhere it needs the PIN, and a PIN that is given
    is checked all the same.
    """

    name = "set_language"
    proof = Proof.PHONE

    async def run(self, ctx: Context) -> Record:
        """Store the language on the party."""
        party = ctx.initiator()
        language = ctx.command_as(commands.SetLanguage).language.lower()
        if language not in LANGUAGES:
            raise Refused(Code.INVALID_INPUT, f"language: one of {', '.join(LANGUAGES)}")
        await ctx.authenticate(party)
        change = Change(
            parties=(party._replace(language=language),),
            audit=((ctx.now, party.id, "set_language", party.id, {"language": language}),),
        )
        response = Response(ctx.request.id, Code.OK, _DONE[language], None, {"language": language})
        return Record(response, party.id, change)
