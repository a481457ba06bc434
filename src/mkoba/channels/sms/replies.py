"""Channel replies: SMS the channel itself sends (to inbound commands), via the outbox.

A reply is an outbox row like any other, written through the ledger writer
and sent by the outbox sender, so it is retried, recorded and, for a reply
that answers an SMS-initiated request, its delivery receipt acknowledges that
request. Reply rows take negative ids (time-based, strictly decreasing in a
process) so they never meet the processor's ids (request number x 16 + n).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mkoba.ledger import Write, WriteMode
from mkoba.messages import render
from mkoba.outbox.schema import OUTBOX_COLUMNS
from mkoba.ports import Tables


class Replies:
    """Queues channel replies in the outbox."""

    def __init__(
        self,
        tables: Tables,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.tables = tables
        self.clock = clock
        self._last = 0
        self.queued = 0

    def next_id(self) -> int:
        """A fresh negative outbox id."""
        candidate = -(time.time_ns() // 1000)
        self._last = min(candidate, self._last - 1)
        return self._last

    async def send(
        self,
        recipient: str,
        language: str,
        template: str,
        params: dict[str, str],
        request_id: str,
    ) -> int:
        """Render ``template`` and queue it to ``recipient``; the outbox id."""
        body = render(template, language, params)
        now = self.clock()
        outbox_id = self.next_id()
        values = (
            outbox_id,
            request_id,
            "sms",
            recipient,
            body,
            "queued",
            0,
            now,
            now,
            now,
            template,
        )
        # upsert: a row can never fail the writer's batch on a duplicate key.
        row = Write("outbox", OUTBOX_COLUMNS, values, ("id",), WriteMode.UPSERT)
        await self.tables.submit([row], poke=True)
        self.queued += 1
        return outbox_id
