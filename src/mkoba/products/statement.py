"""Mini statement: the last five transactions of the requester."""

from __future__ import annotations

import asyncio
import datetime as dt

from mkoba.codes import Code
from mkoba.processor import history
from mkoba.processor.context import Context
from mkoba.processor.request import Response

# M-Pesa's mini statement shows five lines.
lines_max = 5


class MiniStatement:
    """M-Pesa's "Mini statement"."""

    name = "mini_statement"

    async def run(self, ctx: Context) -> Response:
        """The requester's last five statement lines, newest first."""
        party = ctx.initiator()
        await ctx.verify_pin(party)
        lines = await asyncio.to_thread(history.statement, ctx.services.store, party.id, lines_max)
        tz = ctx.profile.timezone
        entries = [
            {
                "receipt": line.receipt,
                "at": dt.datetime.fromtimestamp(line.at / 1e9, tz).isoformat(timespec="seconds"),
                "description": line.description,
                "amount": line.amount,
                "balance": line.balance,
            }
            for line in lines
        ]
        text = "; ".join(
            f"{line.receipt} {line.description} {ctx.money(line.amount)}" for line in lines
        )
        return Response(
            ctx.request.id, Code.OK, text or "No transactions yet.", None, {"entries": entries}
        )
