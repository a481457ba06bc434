"""The outbox sender: due rows out to their gateways, outcomes back through the writer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

from mkoba.ledger import LedgerWriter, Store, Write, WriteMode
from mkoba.outbox.gateway import Delivery, Gateway, Message, Recorder
from mkoba.outbox.sealing import SCRUBBED, is_sealed, open_body
from mkoba.parties.secrets import SecretKey

log = logging.getLogger("mkoba.outbox")

# Rows taken per poll, how often to poll when idle, and the retry schedule.
batch_messages_max = 500
poll_interval_s = 0.05
# While polls keep failing, the wait between them doubles up to this.
failure_wait_s_max = 5.0
# How long a stop lets the messages being sent finish, and be marked sent, before it
# cuts them off (cut off, they go again at the next start: sent twice).
stop_grace_s = 5.0
# On an embedded store, a poll after one that found at most this many rows runs on the
# loop: for a handful of rows the hop to a thread (and its wait for the interpreter
# lock) costs more than the query. Bigger polls run on a thread, where the database's
# work overlaps the loop's.
inline_rows_max = 32
backoff_s = (1, 5, 30, 120, 600, 1800)
attempts_max = len(backoff_s)


_DUE = (
    "SELECT id, request_id, channel, recipient, body, attempts, reference FROM outbox"
    " WHERE state IN ('queued', 'retry') AND next_attempt <= ? ORDER BY id LIMIT ?"
)


class OutboxSender:
    """Delivers queued outbox rows; each row's state is recorded durably."""

    def __init__(
        self,
        store: Store,
        writer: LedgerWriter,
        gateways: Mapping[str, Gateway],
        clock: Callable[[], int],
        key: SecretKey | None = None,
    ) -> None:
        self.store = store
        self.writer = writer
        self.gateways = dict(gateways)
        self.clock = clock
        # Opens sealed bodies (secrets) at hand-over; without it they go out sealed.
        self.key = key
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self.sent = 0
        self._last_rows = 0
        # Polls that failed in a row, and the last failure's kind (no values: they hold data).
        self.failures = 0
        self.last_failure = ""
        # Told of every attempt once its record is durable (channels that track delivery).
        self._listeners: list[Callable[[Message, Delivery], None]] = []

    def subscribe(self, listener: Callable[[Message, Delivery], None]) -> None:
        """Call ``listener`` with each message and its outcome once the outcome is recorded."""
        self._listeners.append(listener)

    def start(self) -> None:
        """Begin polling."""
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    def health(self) -> dict[str, object]:
        """For /health: whether the sender polls, and whether its polls succeed."""
        running = self._task is not None and not self._task.done()
        state = "stopped" if not running else "failing" if self.failures else "ok"
        found: dict[str, object] = {"state": state, "sent": self.sent, "due": self._last_rows}
        if self.failures:
            found |= {"failures_in_a_row": self.failures, "last_failure": self.last_failure}
        return found

    def poke(self) -> None:
        """New rows were committed: poll now rather than at the next interval."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop polling (queued rows stay queued, for the next start).

        The batch being sent is let finish and be marked sent (for ``stop_grace_s`` at
        most): cancelled between a callback's delivery and its mark, it would be sent
        again by the next start.
        """
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), stop_grace_s)
            except TimeoutError:
                log.warning("outbox: a batch still sending after %.0f s was cut off", stop_grace_s)
            # Python 3.11's wait_for can swallow a cancellation that meets a poke: the
            # flag ends the loop even then.
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                sent = await self.send_due()
                if self.failures:
                    log.warning("outbox polls work again after %d failures", self.failures)
                self.failures = 0
            except Exception as error:  # keep sending; the rows stay queued
                if self.failures == 0:
                    log.exception("outbox poll failed")
                self.failures += 1
                self.last_failure = type(error).__name__
                # A store that keeps failing is tried less often (and logged once, then
                # counted in /health), not every poll interval.
                await asyncio.sleep(min(poll_interval_s * 2**self.failures, failure_wait_s_max))
                continue
            if sent < batch_messages_max:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), poll_interval_s)

    async def send_due(self) -> int:
        """Send every due message once; how many were attempted."""
        now = self.clock()
        due = (_DUE, (now, batch_messages_max))
        if self.store.embedded and self._last_rows <= inline_rows_max:
            rows = self.store.query(*due)
        else:
            rows = await asyncio.to_thread(self.store.query, *due)
        self._last_rows = len(rows)
        if not rows:
            return 0
        messages = [Message(int(r[0]), r[1], r[2], r[3], r[4], int(r[5]), r[6]) for r in rows]
        sealed = {message.id for message in messages if is_sealed(message.body)}
        outcomes = await asyncio.gather(*(self._send(self._opened(m)) for m in messages))
        writes = [
            self._record(message, outcome, now, message.id in sealed)
            for message, outcome in zip(messages, outcomes, strict=True)
        ]
        for gateway in {
            message.channel: self.gateways.get(message.channel) for message in messages
        }.values():
            if isinstance(gateway, Recorder):
                writes.extend(gateway.records())
        await self.writer.submit_async([], attach=writes)
        for message, outcome in zip(messages, outcomes, strict=True):
            for listener in self._listeners:
                listener(message, outcome)
        return len(messages)

    def _opened(self, message: Message) -> Message:
        """The message with a sealed body opened, in memory, for the gateway only."""
        if self.key is None or not is_sealed(message.body):
            return message
        return message._replace(body=open_body(message.body, self.key, message.id))

    async def _send(self, message: Message) -> Delivery:
        gateway = self.gateways.get(message.channel)
        if gateway is None:
            log.error("no gateway for %s messages (outbox row %d)", message.channel, message.id)
            return Delivery.FAILED
        try:
            return await gateway.send(message)
        except Exception:
            log.exception("gateway %s failed on outbox row %d", message.channel, message.id)
            return Delivery.RETRY

    def _record(self, message: Message, outcome: Delivery, now: int, sealed: bool = False) -> Write:
        attempts = message.attempts + 1
        state = str(outcome)
        next_attempt = now
        if outcome == Delivery.RETRY:
            if attempts >= attempts_max:
                state = str(Delivery.FAILED)
            else:
                next_attempt = now + backoff_s[attempts - 1] * 1_000_000_000
        if outcome in (Delivery.SENT, Delivery.DELIVERED):
            self.sent += 1
        columns: tuple[str, ...] = ("id", "state", "attempts", "next_attempt", "updated")
        values: tuple[object, ...] = (message.id, state, attempts, next_attempt, now)
        if sealed and state != str(Delivery.RETRY):
            # Handed over (or given up): the secret has no more business in the table.
            columns += ("body",)
            values += (SCRUBBED,)
        return Write("outbox", columns, values, ("id",), WriteMode.UPDATE)
