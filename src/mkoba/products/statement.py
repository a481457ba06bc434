"""Mini statement: the last five transactions of the requester."""

from __future__ import annotations

import asyncio
import datetime as dt

from mkoba.codes import Code
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
        rows = await asyncio.to_thread(
            ctx.services.store.query,
            "SELECT at, receipt, description, amount, balance FROM statement_lines"
            " WHERE party_id = ? ORDER BY at DESC, line DESC LIMIT ?",
            (party.id, lines_max),
        )
        tz = ctx.profile.timezone
        entries = [
            {
                "receipt": receipt,
                "at": dt.datetime.fromtimestamp(int(at) / 1e9, tz).isoformat(timespec="seconds"),
                "description": description,
                "amount": int(amount),
                "balance": int(balance),
            }
            for at, receipt, description, amount, balance in rows
        ]
        text = "; ".join(
            f"{entry['receipt']} {entry['description']} {ctx.money(int(entry['amount']))}"
            for entry in entries
        )
        return Response(
            ctx.request.id, Code.OK, text or "No transactions yet.", None, {"entries": entries}
        )
