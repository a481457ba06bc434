"""Callbacks leave from the outbox: the "callback" gateway, its delivery log, replays.

Results the channel writes itself (failed STK payments, business results,
queue timeouts) become outbox rows in an id range of their own, above any the
processor hands out; results committed with the money (STK success, C2B
confirmation) are notes the processor renders. Either way the outbox sender
delivers them here: one HTTP POST per attempt, retried with the sender's
backoff, every attempt recorded in ``daraja_deliveries`` for the app's log, in the
same commit as the outbox's record of it (``outbox.gateway.Recorder``).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator

from mkoba import ports
from mkoba.channels.daraja.poster import Poster, PostError
from mkoba.channels.daraja.schema import DELIVERY_COLUMNS
from mkoba.ledger import Write
from mkoba.outbox import Delivery, Message
from mkoba.outbox import reads as outbox_reads
from mkoba.outbox.schema import OUTBOX_COLUMNS

log = logging.getLogger("mkoba.daraja.callbacks")

# The channel's own outbox rows start here: the processor's are request number * 16 + n.
outbox_id_base = 1 << 60
# At most this much of a receiver's error body is kept in the delivery log.
error_length_max = 200


def first_outbox_id(store: ports.Tables) -> int:
    """The next free id of the channel's outbox range (blocking)."""
    return max(outbox_id_base, outbox_reads.highest_id(store, outbox_id_base) + 1)


def first_delivery_id(store: ports.Tables) -> int:
    """The next free delivery-log id (blocking)."""
    rows = store.query("SELECT COALESCE(MAX(id), 0) FROM daraja_deliveries")
    return int(rows[0][0]) + 1


class OutboxRows:
    """Outbox rows written by the channel itself, in its own id range."""

    def __init__(self, first_id: int) -> None:
        assert first_id >= outbox_id_base
        self._ids = itertools.count(first_id)

    def renumbered(self, write: Write) -> Write:
        """A front's queued callback with an id of this range (the core's) instead of its own."""
        return write._replace(values=(next(self._ids), *write.values[1:]))

    def row(self, request_id: str, url: str, body: str, kind: str, now: int) -> Write:
        """A queued callback: ``body`` to be POSTed to ``url``."""
        values = (
            next(self._ids),
            request_id,
            "callback",
            url,
            body,
            "queued",
            0,
            now,
            now,
            now,
            kind,
        )
        return Write("outbox", OUTBOX_COLUMNS, values)


class CallbackGateway:
    """POSTs callback bodies to their URLs (the outbox sender's "callback" gateway)."""

    def __init__(
        self,
        tables: ports.Tables,
        app_of: Callable[[Message], int],
        timeout_s: float,
        attempts_max: int,
    ) -> None:
        assert timeout_s > 0
        assert attempts_max >= 1
        self.tables = tables
        self.app_of = app_of
        self.attempts_max = attempts_max
        self.poster = Poster(timeout_s)
        # Numbered from the table's last id when first taken (the gateway exists before
        # the store is open: the outbox may hand it a callback as soon as it starts).
        self._log_ids: Iterator[int] | None = None
        self._rows: list[tuple[object, ...]] = []
        self.delivered = 0
        self.failed = 0

    async def send(self, message: Message) -> Delivery:
        """One attempt to deliver ``message``: 2xx is delivered, anything else retried."""
        started = time.perf_counter()
        status, error = 0, ""
        try:
            answer = await self.poster.post(message.recipient, message.body.encode())
            status = answer.status
            if not 200 <= status < 300:
                error = answer.body[:error_length_max].decode(errors="replace")
        except PostError as problem:
            # Only the kind (ConnectionRefusedError, Timeout...): a URL may carry a client's
            # secrets in its query string, and errors tend to repeat it.
            error = problem.kind
        attempt = message.attempts + 1
        if 200 <= status < 300:
            outcome = Delivery.DELIVERED
            self.delivered += 1
        elif attempt >= self.attempts_max or error == "InvalidURL":
            outcome = Delivery.FAILED
            self.failed += 1
        else:
            outcome = Delivery.RETRY
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        self._record(message, attempt, status, outcome, error, elapsed_ms)
        return outcome

    def _record(
        self,
        message: Message,
        attempt: int,
        status: int,
        outcome: Delivery,
        error: str,
        elapsed_ms: int,
    ) -> None:
        """Keep the attempt for the log, until the outbox sender takes it (``records``)."""
        self._rows.append(
            (
                message.id,
                self.app_of(message),
                message.recipient,
                message.reference,
                attempt,
                time.time_ns(),
                status,
                str(outcome),
                error,
                elapsed_ms,
            )
        )

    def records(self) -> list[Write]:
        """The delivery-log rows of the attempts since the last call, numbered.

        The outbox sender commits them with its own record of those attempts. The
        first call reads the table's last id, once, on the loop (one indexed read).
        """
        rows, self._rows = self._rows, []
        if not rows:
            return []
        if self._log_ids is None:
            try:
                first = first_delivery_id(self.tables)
            except Exception as problem:  # the outbox rows still say what became of each
                log.warning("delivery log of %d attempts not written: %s", len(rows), problem)
                return []
            self._log_ids = itertools.count(first)
        ids = self._log_ids
        return [Write("daraja_deliveries", DELIVERY_COLUMNS, (next(ids), *row)) for row in rows]

    async def close(self) -> None:
        """Close the connections (the sender has taken the last attempts' log with them)."""
        await self.poster.close()
