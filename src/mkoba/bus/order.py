"""A front's rows before its requests: decided in the order the front sent them.

A front's rows (``remote.RemoteRows``) and its requests reach the core by different
roads: rows by request-reply to the core, requests through the JetStream stream.
So that a request sent after rows is decided after them, as in one process (an STK
prompt's row, then the payment that completes it), a request names the row
batches its front had sent and not yet seen settled (``after``), and the core
hands it to TranProc only once each of them is in its ledger writer's queue. The
writer commits in order, so those rows commit in the same transaction as the
request's effects or an earlier one (``rows.Rows.ordered``), and the front need not
wait for its rows' commit before it sends the request.

A batch this core has not queued after a second may have been committed by a core
before it (which died before deciding the request): the core looks it up among the
committed batches (``batches``, through ``lookup``). One never found (its front gave
up on it) holds the request until its deadline, which the bus answers SYSTEM_BUSY
without acting, as it answers any request that comes too late: a request is never
decided ahead of rows sent before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

# Batch ids the core remembers having queued (a request names only recent ones).
queued_kept_max = 65_536
# How long a request waits for a batch before the core looks it up among the committed.
look_after_s = 1.0


class Order:
    """Row batches in flight (on a front) and queued (on the core), and who waits for them."""

    def __init__(self) -> None:
        self._unsettled: dict[str, None] = {}
        self._queued: OrderedDict[str, None] = OrderedDict()
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}
        # The core: whether a batch has committed (an earlier core's work too), if it can say.
        self.lookup: Callable[[str], Awaitable[bool]] | None = None

    # -- a front ----------------------------------------------------------------------

    def sending(self, batch: str) -> None:
        """Rows named ``batch`` leave for the core: requests sent from now on follow them."""
        self._unsettled[batch] = None

    def settled(self, batch: str) -> None:
        """The core answered for ``batch`` (or the front gave up on it)."""
        self._unsettled.pop(batch, None)

    def after(self) -> list[str]:
        """The batches a request sent now must follow."""
        return list(self._unsettled)

    # -- the core ---------------------------------------------------------------------

    def queued(self, batch: str) -> None:
        """``batch`` is in the ledger writer's queue: requests that follow it may go on."""
        self._queued[batch] = None
        self._queued.move_to_end(batch)
        if len(self._queued) > queued_kept_max:
            self._queued.popitem(last=False)
        for waiter in self._waiting.pop(batch, ()):
            if not waiter.done():
                waiter.set_result(None)

    def dropped(self, batch: str) -> None:
        """``batch`` did not commit (the front may send it again): requests wait for that."""
        self._queued.pop(batch, None)

    async def wait(self, batches: Sequence[str], deadline_ns: int) -> bool:
        """Wait until every batch is queued: False if the deadline passes first."""
        for batch in batches:
            while batch not in self._queued:
                left_s = (deadline_ns - time.time_ns()) / 1e9
                if left_s <= 0:
                    return False
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                waiters = self._waiting.setdefault(batch, [])
                waiters.append(waiter)
                try:
                    await asyncio.wait_for(waiter, min(left_s, look_after_s))
                except TimeoutError:
                    if await self._committed(batch):
                        self.queued(batch)
                finally:
                    with contextlib.suppress(ValueError):
                        waiters.remove(waiter)
                    if not waiters and self._waiting.get(batch) is waiters:
                        del self._waiting[batch]
        return True

    async def _committed(self, batch: str) -> bool:
        if self.lookup is None:
            return False
        try:
            return await self.lookup(batch)
        except Exception:  # the store cannot say now: look again later
            return False
