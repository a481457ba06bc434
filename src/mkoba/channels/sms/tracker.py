"""Delivery tracking: SMSC message ids to outbox messages, receipts to outbox states.

When a message's parts are accepted by the SMSC, their message ids are
recorded (``sms_parts``). Receipts then move the outbox row from ``sent`` to
``delivered`` (every part delivered) or ``undelivered`` (any part failed), in
batches through the ledger writer (the one write path). A receipt can beat
the outbox sender's own ``sent`` record to the writer; such receipts wait
until the sender has recorded the message, so ``sent`` never overwrites them.

A delivered reply to an SMS-initiated request is that request's response
being delivered: the request is acknowledged (posted); a failed one rolls it
back at once; a receipt that never comes leaves it to the processor's
deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mkoba.channels.sms.receipts import Fate, Receipt, id_forms, normal_id
from mkoba.channels.sms.schema import PART_COLUMNS
from mkoba.ledger import Write, WriteMode
from mkoba.outbox import reads as outbox_reads
from mkoba.ports import Tables

log = logging.getLogger("mkoba.sms.receipts")

# Messages tracked in memory (older ones are found in the table).
tracked_messages_max = 200_000
flush_interval_s = 0.05
flush_rows_max = 2000
# The prefix of requests that came in by SMS, and of the templates of channel replies.
SMS_REQUEST = "sms:"
REPLY_TEMPLATE = "sms."

Acknowledge = Callable[[str, bool], Awaitable[bool]]


@dataclass
class Tracked:
    """One outbox message in flight at the SMSC."""

    outbox_id: int
    request_id: str
    reference: str
    parts: int
    delivered: set[str] = field(default_factory=set)
    failed: bool = False
    recorded: bool = False
    early: list[Receipt] = field(default_factory=list)
    done: bool = False
    keys: list[str] = field(default_factory=list)


def is_reply(request_id: str, reference: str) -> bool:
    """Whether an outbox message is the response to an SMS-initiated request."""
    return request_id.startswith(SMS_REQUEST) and reference.startswith(REPLY_TEMPLATE)


class Tracker:
    """Message ids in, outbox states and acknowledgements out."""

    def __init__(
        self,
        tables: Tables,
        acknowledge: Acknowledge,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.tables = tables
        self.acknowledge = acknowledge
        self.clock = clock
        self._by_id: dict[str, Tracked] = {}
        self._by_outbox: OrderedDict[int, Tracked] = OrderedDict()
        self._rows: list[Write] = []
        self._acks: list[tuple[str, bool]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.receipts = 0
        self.unknown = 0
        self.delivered = 0
        self.failed = 0

    def start(self) -> None:
        """Flush rows and acknowledgements in the background."""
        self._task = asyncio.get_running_loop().create_task(self._flusher(), name="sms-tracker")

    async def stop(self) -> None:
        """Flush what is left, then stop."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()

    # -- what was sent ----------------------------------------------------------------

    def sent(self, outbox_id: int, request_id: str, reference: str, message_ids: list[str]) -> None:
        """The SMSC took every part of an outbox message, with these ids."""
        tracked = Tracked(outbox_id, request_id, reference, len(message_ids))
        now = self.clock()
        for part, message_id in enumerate(message_ids, start=1):
            key = normal_id(message_id)
            self._by_id[key] = tracked
            tracked.keys.append(key)
            parts = len(message_ids)
            values = (key, outbox_id, request_id, reference, part, parts, "sent", now, now)
            self._rows.append(
                Write("sms_parts", PART_COLUMNS, values, ("message_id",), WriteMode.UPSERT)
            )
        self._by_outbox[outbox_id] = tracked
        while len(self._by_outbox) > tracked_messages_max:
            _, old = self._by_outbox.popitem(last=False)
            self._forget(old)
        self._wake.set()

    def recorded(self, outbox_id: int) -> None:
        """The outbox sender has recorded the message as sent: receipts may now land."""
        tracked = self._by_outbox.get(outbox_id)
        if tracked is None or tracked.recorded:
            return
        tracked.recorded = True
        early, tracked.early = tracked.early, []
        for receipt in early:
            self._apply(tracked, receipt)

    # -- what came back ---------------------------------------------------------------

    async def receipt(self, receipt: Receipt) -> None:
        """Apply one delivery receipt."""
        self.receipts += 1
        if receipt.fate == Fate.PENDING:
            return
        tracked = self._find(receipt.message_id)
        if tracked is None:
            tracked = await self._load(receipt.message_id)
        if tracked is None:
            self.unknown += 1
            log.info("receipt for unknown message id %s", receipt.message_id)
            return
        if not tracked.recorded:
            tracked.early.append(receipt)
            return
        self._apply(tracked, receipt)

    def _find(self, message_id: str) -> Tracked | None:
        for form in id_forms(message_id):
            tracked = self._by_id.get(form)
            if tracked is not None:
                return tracked
        return None

    async def _load(self, message_id: str) -> Tracked | None:
        """A message sent before this process started (or long ago), from the table."""
        forms = id_forms(message_id)
        marks = ",".join("?" for _ in forms)
        rows = await asyncio.to_thread(
            self.tables.query,
            "SELECT message_id, outbox_id, request_id, reference, parts FROM sms_parts"
            f" WHERE message_id IN ({marks})",
            tuple(forms),
        )
        if not rows:
            return None
        key, outbox_id, request_id, reference, parts = rows[0]
        state = await asyncio.to_thread(outbox_reads.state, self.tables, int(outbox_id))
        if state is None:
            return None  # a part whose message is not in the outbox: nothing to track
        tracked = Tracked(int(outbox_id), request_id, reference, int(parts), recorded=True)
        tracked.done = state in ("delivered", "undelivered")
        siblings = await asyncio.to_thread(
            self.tables.query,
            "SELECT message_id FROM sms_parts WHERE outbox_id = ? AND state = 'delivered'",
            (int(outbox_id),),
        )
        tracked.delivered = {row[0] for row in siblings}
        self._by_id[key] = tracked
        tracked.keys.append(key)
        return tracked

    def _apply(self, tracked: Tracked, receipt: Receipt) -> None:
        now = self.clock()
        key = next(
            (form for form in id_forms(receipt.message_id) if form in tracked.keys),
            receipt.message_id,
        )
        state = "delivered" if receipt.fate == Fate.DELIVERED else "undelivered"
        self._rows.append(
            Write(
                "sms_parts",
                ("message_id", "state", "updated"),
                (key, state, now),
                ("message_id",),
                WriteMode.UPDATE,
            )
        )
        if tracked.done:
            return  # a late or repeated receipt: the message's fate is settled
        if receipt.fate == Fate.DELIVERED:
            tracked.delivered.add(key)
            if len(tracked.delivered) < tracked.parts:
                return
            self._settle(tracked, "delivered", now)
        else:
            tracked.failed = True
            self._settle(tracked, "undelivered", now)
        self._wake.set()

    def _settle(self, tracked: Tracked, state: str, now: int) -> None:
        tracked.done = True
        if state == "delivered":
            self.delivered += 1
        else:
            self.failed += 1
        self._rows.append(
            Write(
                "outbox",
                ("id", "state", "updated"),
                (tracked.outbox_id, state, now),
                ("id",),
                WriteMode.UPDATE,
            )
        )
        if is_reply(tracked.request_id, tracked.reference):
            self._acks.append((tracked.request_id, state == "delivered"))
        self._forget(tracked)

    def _forget(self, tracked: Tracked) -> None:
        for key in tracked.keys:
            if self._by_id.get(key) is tracked:
                del self._by_id[key]
        if self._by_outbox.get(tracked.outbox_id) is tracked:
            del self._by_outbox[tracked.outbox_id]

    # -- writing ----------------------------------------------------------------------

    async def _flusher(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(flush_interval_s)
            try:
                await self.flush()
            except Exception:  # keep tracking; the rows are retried with the next batch
                log.exception("writing SMS delivery states failed")

    async def flush(self) -> None:
        """Write the pending rows, then pass on the acknowledgements they justify."""
        while self._rows or self._acks:
            rows, self._rows = self._rows[:flush_rows_max], self._rows[flush_rows_max:]
            acks, self._acks = self._acks, []
            if rows:
                await self.tables.submit(rows)
            for request_id, delivered in acks:
                try:
                    await self.acknowledge(request_id, delivered)
                except Exception:
                    log.exception("acknowledging %s failed", request_id)
