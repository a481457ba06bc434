"""A front's channel rows and balance reads, served by the core across the bus.

- ``RemoteRows`` (a front): rows go to ``<prefix>.rows`` and balance reads to
  ``<prefix>.balances``, request-reply to the core. While no core listens (one
  restarting, a standby taking over) a front asks again until its deadline, then
  raises ``CoreUnavailable``; a channel answers its busy code, not an error.
  Each batch carries an id of its own, so one asked twice commits once: the
  core remembers it, and a batch asked again after a core restart or a takeover
  is looked up among the committed ones (``batches``). The front's requests sent
  meanwhile name the batch, and the core decides them only after it (``order.py``):
  so a front need not wait for its rows before a request.
- ``RowsServer`` (the core): commits what the channels' ``Admission`` allows
  (a check that may also renumber a row: a front's callbacks get their outbox
  ids from the core, so any number of fronts never collide) and refuses the rest.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Sequence

from nats.aio.msg import Msg

from mkoba.bus import batches
from mkoba.bus.asking import NoAnswer, ask_until
from mkoba.bus.jetstream import NatsBus
from mkoba.bus.rows import Admission, LocalRows, RowsError, admitted, rows_bytes, rows_from
from mkoba.ledger import Balance, Store, Write, WriterError
from mkoba.ports import Unavailable

log = logging.getLogger("mkoba.bus.rows")

# The core's answer while its ledger cannot commit (the store away): ask again.
BUSY = b"busy"
# Batch ids the core remembers having committed (a front's retry of one commits nothing).
committed_kept_max = 65_536


class RemoteRows:
    """A front's rows, committed by the core's ledger writer across the bus."""

    # Requests sent after rows are decided after them (``order.py``).
    ordered = True

    def __init__(self, bus: NatsBus, timeout_s: float) -> None:
        self.bus = bus
        self.timeout_s = timeout_s
        # Batch ids: this front's random part, then a count (no system call per batch).
        self._batch_prefix = secrets.token_hex(8)
        self._batches = itertools.count()

    def submit(
        self, writes: Sequence[Write], *, poke: bool = False, batch: str = ""
    ) -> Awaitable[None]:
        """Send ``writes`` now; the awaitable resolves once the core has them durable.

        ``batch``: sent before under this id, its answer never heard: asked again, so
        a core that committed it (before a restart too) commits nothing more.
        """
        sent_before = bool(batch)
        if not sent_before:
            batch = f"{self._batch_prefix}{next(self._batches):x}"
        again = rows_bytes(writes, poke, batch, again=True)
        first = again if sent_before else rows_bytes(writes, poke, batch)
        self.bus.order.sending(batch)
        return asyncio.ensure_future(self._commit(first, again, batch))

    async def _commit(self, first: bytes, again: bytes, batch: str) -> None:
        try:
            answer = await self._ask("rows", first, again)
        except CoreUnavailableError as error:
            error.batch = batch
            raise
        finally:
            self.bus.order.settled(batch)
        if answer != b"ok":
            raise RowsError(f"the core did not commit the rows: {answer.decode(errors='replace')}")

    async def balances(self, account_ids: Sequence[int]) -> list[Balance | None]:
        """The core's ledger writer's balances of ``account_ids``."""
        answer = json.loads(await self._ask("balances", json.dumps(list(account_ids)).encode()))
        if not isinstance(answer, list):
            raise RowsError("the core did not read the balances")
        return [None if b is None else Balance(*b) for b in answer]

    async def _ask(self, what: str, body: bytes, again: bytes | None = None) -> bytes:
        """The core's answer to ``body``; asked again (as ``again``, if given) until one comes."""
        subject = f"{self.bus.prefix}.{what}"
        try:
            return await ask_until(
                self.bus.client, subject, self.timeout_s, body, again, wait_on=BUSY
            )
        except NoAnswer:
            raise CoreUnavailableError(
                f"no core answered on {subject} in {self.timeout_s:g} s"
            ) from None


class CoreUnavailableError(RowsError, Unavailable):
    """No core answered before the deadline: the channel answers that it is busy.

    ``batch``: the rows' batch id, when rows went unanswered. A core may still commit
    them (an ask in flight): what a channel commits next about the same thing sends
    this batch again (``submit(batch=...)``), never different rows.
    """

    batch = ""


class RowsServer:
    """The core's side: commit fronts' rows that the admission allows; read balances."""

    def __init__(self, bus: NatsBus, rows: LocalRows, admission: Admission, store: Store) -> None:
        self.bus = bus
        self.rows = rows
        self.admission = admission
        self.store = store
        # Batches committed or committing, by id: the answer a front's retry gets.
        self._batches: OrderedDict[str, asyncio.Future[bytes]] = OrderedDict()
        self._pruned = 0.0  # when the committed batches' marks were last pruned (monotonic)

    async def serve(self) -> None:
        """Listen on ``<prefix>.rows`` and ``<prefix>.balances``.

        No queue group: a hung core that lost the ledger may still be subscribed; the
        live one answers (and the other commits nothing: its lease is gone).
        """
        await asyncio.to_thread(batches.migrate, self.store)
        self._prune()
        self.bus.order.lookup = self._committed
        client, prefix = self.bus.client, self.bus.prefix
        await client.subscribe(f"{prefix}.rows", cb=self._on_rows)
        await client.subscribe(f"{prefix}.balances", cb=self._on_balances)

    async def _on_rows(self, message: Msg) -> None:
        self.bus.spawn(self._commit(message))

    async def _commit(self, message: Msg) -> None:
        try:
            writes, poke, batch, again = rows_from(message.data)
        except ValueError as problem:
            await message.respond(f"refused: {problem}".encode())
            return
        known = self._batches.get(batch) if batch else None
        if known is not None:
            # A front asked again (its first ask timed out): answer as the first commit does.
            await message.respond(await asyncio.shield(known))
            return
        answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        if batch:
            self._batches[batch] = answer
            if len(self._batches) > committed_kept_max:
                self._batches.popitem(last=False)
        found = b""
        if batch and again:
            # Asked again and not by this process: perhaps committed before a restart.
            found = await self._looked_up(batch)
            if found == b"ok":  # committed: the front's requests after it may go on
                self.bus.order.queued(batch)
        answer.set_result(found or await self._answer(writes, poke, batch))
        if answer.result() != b"ok":
            self._batches.pop(batch, None)  # nothing committed: a retry may try again
            self.bus.order.dropped(batch)
        await message.respond(answer.result())
        if time.monotonic() - self._pruned >= batches.prune_every_s:
            self._prune()

    async def _committed(self, batch: str) -> bool:
        return await asyncio.to_thread(batches.committed, self.store, batch)

    async def _looked_up(self, batch: str) -> bytes:
        """b"ok" if ``batch`` has committed, BUSY if the store cannot say, else b""."""
        try:
            found = await asyncio.to_thread(batches.committed, self.store, batch)
        except Exception as problem:  # the store away: the front asks again
            log.warning(
                "a front's rows wait: cannot look up its batch (%s)", type(problem).__name__
            )
            return BUSY
        return b"ok" if found else b""

    def _prune(self) -> None:
        self._pruned = time.monotonic()
        self.bus.spawn(self._pruning())

    async def _pruning(self) -> None:
        try:
            await asyncio.to_thread(batches.prune, self.store, int(time.time() * 1000))
        except Exception as problem:  # the next prune tries again
            log.warning("could not prune the fronts' batch marks: %s", type(problem).__name__)

    async def _answer(self, writes: list[Write], poke: bool, batch: str) -> bytes:
        admitted_writes, refusal = admitted(writes, self.admission)
        if refusal:
            log.error("refused a front's rows: %s", refusal)
            return f"refused: {refusal}".encode()
        if batch:
            admitted_writes.append(batches.mark(batch, int(time.time() * 1000)))
        try:
            stored = self.rows.submit(admitted_writes, poke=poke)
            if batch:  # queued now, in order: the front's requests after it may go on
                self.bus.order.queued(batch)
            await stored
        except WriterError:
            # The store cannot commit now: the front asks again until its deadline.
            log.warning("a front's rows wait: the ledger cannot commit now")
            return BUSY
        except Exception as problem:
            log.exception("a front's rows did not commit")
            return f"failed: {type(problem).__name__}".encode()
        return b"ok"

    async def _on_balances(self, message: Msg) -> None:
        self.bus.spawn(self._read_balances(message))

    async def _read_balances(self, message: Msg) -> None:
        try:
            wanted = json.loads(message.data)
            if not isinstance(wanted, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in wanted
            ):
                raise ValueError("a list of account ids")
        except ValueError:
            await message.respond(b"null")
            return
        found = await self.rows.balances(wanted)
        await message.respond(json.dumps([None if b is None else list(b) for b in found]).encode())
