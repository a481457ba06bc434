"""The response-delivery rule: post on delivery, roll back at the deadline.

Each money-moving request on a channel with a deadline leaves phase one
pending. ``delivered`` posts it: the channel is about to show the success, and
shows it only once the post is durable, so a success a user has seen is never
undone. The deadline, ``undelivered`` or the ledger's own expiry rolls it back
and the payer is told by SMS. Duplicated acknowledgements post once; a late one
never posts a voided transfer (the ledger refuses it), and is told so.

After a restart (``recover``), a request whose deadline has passed is rolled
back at once. One whose deadline has not passed is waited for again, until the
same deadline: phase one stored what posting it commits (``settlement.py``), so
an acknowledgement that comes after the restart (a front still holds the
response and retries it) posts it once, with its messages and statement lines.
A request with nothing stored to post it with is rolled back at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from mkoba.codes import Code
from mkoba.ledger import WriterError
from mkoba.ledger.engine import Engine
from mkoba.ledger.records import PendingStatus
from mkoba.processor import history, ids
from mkoba.processor.commit import Awaiting, roll_back, settle
from mkoba.processor.locks import PartyLocks
from mkoba.processor.recovery import Left, left_pending
from mkoba.processor.request import Response
from mkoba.processor.status import Status

if TYPE_CHECKING:
    from mkoba.processor.services import Services

log = logging.getLogger("mkoba.processor.delivery")


class Recovered(NamedTuple):
    """What a start found pending: rolled back at once, and waiting again for delivery."""

    rolled_back: int
    waiting: int


class Deliveries:
    """Requests waiting for their response to be delivered."""

    def __init__(self, services: Services, locks: PartyLocks) -> None:
        self.services = services
        self.locks = locks
        self._awaiting: dict[str, tuple[Awaiting, asyncio.TimerHandle]] = {}
        # Rollbacks under way after a deadline: an acknowledgement meanwhile waits for it.
        self._rolling: dict[str, asyncio.Task[bool]] = {}
        # Deadlines whose rollback did not void the money: the store says what happened.
        self._unsure: set[str] = set()
        # Posts under way: a duplicated acknowledgement meanwhile waits for the outcome.
        self._settling: dict[str, asyncio.Future[bool]] = {}
        self._tasks: set[asyncio.Task[bool]] = set()
        # Held by the risk rules: only ``release`` posts or voids them before their deadline.
        self._held: set[str] = set()
        self.posted = 0
        self.rolled_back = 0
        # Told of each rollback, so that replays answer ROLLED_BACK from then on.
        self.on_rolled_back: Callable[[str, Response], None] | None = None

    def expect(self, awaiting: Awaiting) -> None:
        """Wait for ``awaiting``'s delivery until its deadline (a payment the risk rules
        held: for compliance's word, ``release``; a channel's acknowledgement is not it)."""
        if awaiting.response.code is Code.HELD_FOR_REVIEW:
            self._held.add(awaiting.request_id)
        loop = asyncio.get_running_loop()
        delay_s = max(0.0, (awaiting.deadline - self.services.clock()) / 1e9)
        handle = loop.call_later(delay_s, self._deadline, awaiting.request_id)
        old = self._awaiting.get(awaiting.request_id)
        if old is not None:
            old[1].cancel()
        self._awaiting[awaiting.request_id] = (awaiting, handle)

    def waiting(self, request_id: str) -> bool:
        """Whether ``request_id`` is waiting for delivery."""
        return request_id in self._awaiting

    def __len__(self) -> int:
        return len(self._awaiting)

    async def delivered(self, request_id: str) -> bool | None:
        """The response is going to the user: move the money for good, durably.

        True once posted; False if it was rolled back first (too late); None if
        ``request_id`` was not waiting for its delivery (or is held for compliance).
        """
        if request_id in self._held:
            return None
        entry = self._awaiting.pop(request_id, None)
        if entry is None:
            settling = self._settling.get(request_id)
            if settling is not None:
                return await asyncio.shield(settling)
            rolling = self._rolling.get(request_id)
            if rolling is not None and await asyncio.shield(rolling):
                return False
            if request_id in self._unsure:
                return await self._stored_outcome(request_id)
            return None
        awaiting, handle = entry
        handle.cancel()
        outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._settling[request_id] = outcome
        try:
            done = await self._settle(awaiting)
        except WriterError as error:
            # The store failed while posting: it may or may not have committed. Wait
            # again until the deadline; the channel asks again, and a post repeated
            # after one that did commit finds its transfers there (``commit.settle``).
            self.expect(awaiting)
            outcome.set_exception(error)
            outcome.exception()
            raise
        except BaseException as error:
            outcome.set_exception(error)
            outcome.exception()  # retrieved: duplicates see it, nobody is left unaware
            raise
        else:
            outcome.set_result(done)
        finally:
            del self._settling[request_id]
        return done

    async def _settle(self, awaiting: Awaiting) -> bool:
        request_id = awaiting.request_id
        async with self.locks.hold(awaiting.msisdn):
            now = self.services.clock()
            done = await settle(self.services, awaiting, now)
            if not done:
                # The ledger's own timeout voided the legs before the post reached it:
                # the request and receipt must still say so, and the payer be told.
                await roll_back(self.services, awaiting.rollback, now, void=False)
        if done:
            self.posted += 1
        else:
            log.warning("late delivery of %s: the ledger had already expired it", request_id)
            self._rolled_back(request_id)
        return done

    async def undelivered(self, request_id: str) -> bool:
        """The channel knows the response did not arrive: roll back now (not a held one:
        its customer is told by SMS when compliance decides)."""
        if request_id in self._held:
            return False
        entry = self._awaiting.pop(request_id, None)
        if entry is None:
            return False
        entry[1].cancel()
        return await self._roll_back(entry[0])

    async def release(self, request_id: str, approve: bool) -> bool | None:
        """Compliance's word on a held payment: post it (``approve``) or give the money
        back. True if it went that way; False if it could not (already rolled back, or
        posting found it expired); None if ``request_id`` is not held."""
        if request_id not in self._held or request_id not in self._awaiting:
            return None
        self._held.discard(request_id)
        if not approve:
            return await self.undelivered(request_id)
        awaiting, handle = self._awaiting[request_id]
        released = Response(request_id, Code.OK, Code.OK.message, *awaiting.response[3:])
        self._awaiting[request_id] = (
            awaiting._replace(response=released, stored=released.to_json()),
            handle,
        )
        try:
            return await self.delivered(request_id)
        except WriterError:
            # The store failed while posting: it waits again, held as before, so that
            # compliance's release can be given again (``delivered`` put it back).
            entry = self._awaiting.get(request_id)
            if entry is not None:
                self._awaiting[request_id] = (
                    entry[0]._replace(response=awaiting.response, stored=awaiting.stored),
                    entry[1],
                )
                self._held.add(request_id)
            raise

    def held(self) -> list[str]:
        """The payments held for compliance, by request id."""
        return sorted(self._held)

    def _deadline(self, request_id: str) -> None:
        self._held.discard(request_id)
        entry = self._awaiting.pop(request_id, None)
        if entry is None:
            return
        task = asyncio.get_running_loop().create_task(self._roll_back_quietly(entry[0]))
        self._tasks.add(task)
        self._rolling[request_id] = task
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _task: self._rolling.pop(request_id, None))

    async def _roll_back_quietly(self, awaiting: Awaiting) -> bool:
        try:
            if await self._roll_back(awaiting):
                return True
        except Exception:  # the ledger's own expiry still rolls the money back
            log.exception("rollback of %s failed; the ledger will expire it", awaiting.request_id)
        # Not voided: a post whose commit's answer the store lost may have committed
        # before the deadline; an acknowledgement from now on asks the store.
        self._unsure.add(awaiting.request_id)
        return False

    async def _stored_outcome(self, request_id: str) -> bool:
        """Whether the money stands, from the store's record of a deadline not voided.

        Still pending: the rollback did not reach the store and the ledger's expiry
        will undo it; the channel is told to ask again, never that it posted.
        """
        stored = await asyncio.to_thread(history.outcome, self.services.store, request_id)
        if stored is None or stored[0] is Status.PENDING:
            raise WriterError(f"whether {request_id} was posted is not known yet")
        if stored[0] is not Status.COMPLETED:
            return False
        self._unsure.discard(request_id)
        return True

    async def _roll_back(self, awaiting: Awaiting) -> bool:
        rollback = awaiting.rollback
        async with self.locks.hold(awaiting.msisdn):
            done = await roll_back(self.services, rollback, self.services.clock())
        if done:
            self._rolled_back(rollback.request_id)
        return done

    def _rolled_back(self, request_id: str) -> None:
        self.rolled_back += 1
        if self.on_rolled_back is not None:
            self.on_rolled_back(
                request_id, Response(request_id, Code.ROLLED_BACK, Code.ROLLED_BACK.message)
            )

    async def drain(self) -> None:
        """Wait for rollbacks in progress (at shutdown)."""
        for _, handle in self._awaiting.values():
            handle.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def adopt(self, request_id: str) -> None:
        """A request found pending after its commit's outcome was unknown (``doubt.py``):
        wait for its delivery again until its deadline, as after a restart, or roll it
        back now. Nothing if it is already waited for, posted or rolled back here."""
        if request_id in self._awaiting or request_id in self._settling:
            return
        if request_id in self._rolling:
            return
        services = self.services
        left = await asyncio.to_thread(
            left_pending, services.store, services.transport_key, request_id
        )
        await self._take_over(left)

    async def recover(self) -> Recovered:
        """After a restart: wait again for what may still be delivered, roll back the rest.

        A pending request whose deadline has not passed, and whose phase one stored
        what posting it commits, waits for its acknowledgement until that deadline
        (a front may still hold its response). The others are rolled back now (or,
        if the ledger expired one while the processor was down, its records are
        brought in line), and the payer told.
        """
        services = self.services
        left = await asyncio.to_thread(left_pending, services.store, services.transport_key)
        waiting = await self._take_over(left)
        assert waiting <= len(left)
        return Recovered(len(left) - waiting, waiting)

    async def _take_over(self, left: list[Left]) -> int:
        """Wait again for each of ``left`` that may still be delivered, roll back the rest;
        how many wait."""
        services = self.services
        now = services.clock()
        waiting = 0
        for rollback, awaiting in left:
            pending_id = ids.leg_id(rollback.number, 0, "pending")
            status = await asyncio.wrap_future(
                services.writer.read(functools.partial(_status, pending_id=pending_id))
            )
            still_pending = status == PendingStatus.PENDING
            if awaiting is not None and still_pending and now < awaiting.deadline:
                self.expect(awaiting)
                waiting += 1
                continue
            if awaiting is None:
                await roll_back(services, rollback, now, void=still_pending)
            else:
                async with self.locks.hold(awaiting.msisdn):
                    await roll_back(services, rollback, now, void=still_pending)
            self._rolled_back(rollback.request_id)
        return waiting


def _status(engine: Engine, pending_id: int) -> int | None:
    pending = engine.pendings.get(pending_id)
    return None if pending is None else pending.status
