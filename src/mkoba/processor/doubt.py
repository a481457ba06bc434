"""Requests whose commit failed with its outcome unknown, settled from the store.

When the ledger store fails while committing (a connection cut mid-commit, a
commit process killed), the batch may or may not have committed: the client is
answered busy and asks again under the same id. Memory cannot tell what
happened, so such an id is *in doubt* until the store says: once the writer has
rebuilt from the store (a read handed to the writer after the failure is
answered only then), the request's row is looked up. Found, it is the answer to
every retry (a replay, never a second decision, so never a second receipt);
found waiting for its delivery, it waits again as after a restart
(``Deliveries.adopt``), so it is posted on acknowledgement or rolled back at
its deadline; not found, nothing committed and the retry is decided anew.

Doubts are settled in the background as soon as the store can tell, whether or
not a retry comes; a retry meanwhile waits a little, then is answered busy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NamedTuple

from mkoba.ledger import StoreError, WriterError
from mkoba.processor.request import Response

if TYPE_CHECKING:
    from mkoba.processor.services import Services

log = logging.getLogger("mkoba.processor.doubt")

# How long a retry of a request in doubt waits for the store to tell, before busy.
doubt_wait_s = 2.0
# Pauses between tries while the store cannot tell (doubling up to the most).
doubt_pause_first_s = 0.05
doubt_pause_max_s = 2.0
# Ids looked up in one query.
doubt_query_ids_max = 500


class Stored(NamedTuple):
    """What the store holds of a request in doubt."""

    fingerprint: str
    response: Response
    created: int
    status: str


class Doubts:
    """Request ids in doubt, and the background task that settles them."""

    def __init__(
        self,
        services: Services,
        adopt: Callable[[str], Awaitable[None]],
        found: Callable[[str, Stored], None],
    ) -> None:
        self.services = services
        self._adopt = adopt
        self._found = found
        self._waiting: dict[str, asyncio.Future[Stored | None]] = {}
        self._task: asyncio.Task[None] | None = None
        self.settled = 0

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, request_id: str) -> None:
        """``request_id``'s commit failed with its outcome unknown."""
        if request_id not in self._waiting:
            future: asyncio.Future[Stored | None] = asyncio.get_running_loop().create_future()
            self._waiting[request_id] = future
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._settle_all())

    async def settled_of(self, request_id: str) -> Stored | None:
        """What the store holds of ``request_id`` (None: nothing committed).

        Returns at once for an id not in doubt (None). ``WriterError`` if the store
        cannot tell within ``doubt_wait_s``: the client is answered busy again.
        """
        future = self._waiting.get(request_id)
        if future is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(future), doubt_wait_s)
        except TimeoutError:
            raise WriterError(
                "whether an earlier attempt of this request committed is not known yet"
            ) from None

    def doubted(self, request_id: str) -> bool:
        """Whether ``request_id`` is in doubt now."""
        return request_id in self._waiting

    async def stop(self) -> None:
        """Stop settling (at shutdown): the next start's recovery settles what is left."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(WriterError("the processor stopped"))
                future.exception()

    async def _settle_all(self) -> None:
        pause = doubt_pause_first_s
        while self._waiting:
            ids = list(self._waiting)[:doubt_query_ids_max]
            try:
                stored = await self._look_up(ids)
            except (WriterError, StoreError) as error:
                state = self.services.writer.health().get("state")
                if state in ("failed", "stopped"):
                    log.error("%d requests left in doubt: the ledger writer is %s", len(ids), state)
                    return
                log.info("%d requests in doubt; the store cannot tell yet (%s)", len(ids), error)
                await asyncio.sleep(pause)
                pause = min(doubt_pause_max_s, pause * 2)
                continue
            pause = doubt_pause_first_s
            for request_id in ids:
                found = stored.get(request_id)
                if found is not None:
                    self._found(request_id, found)
                    if found.status == "pending":
                        await self._adopt(request_id)
                future = self._waiting.pop(request_id)
                if not future.done():
                    future.set_result(found)
                self.settled += 1

    async def _look_up(self, ids: list[str]) -> dict[str, Stored]:
        """The stored rows of ``ids``, read once the writer has rebuilt from the store."""
        services = self.services
        # In order with the writes: answered only after the rebuild that followed the
        # failure, so the failed commit's outcome is final (the old session is gone).
        await asyncio.wrap_future(services.writer.read(_nothing))
        marks = ", ".join("?" * len(ids))
        rows = await asyncio.to_thread(
            services.store.query,
            "SELECT id, fingerprint, response, created, status FROM requests"
            f" WHERE id IN ({marks})",
            tuple(ids),
        )
        return {
            str(request_id): Stored(
                str(fingerprint), Response.from_json(str(response)), int(created), str(status)
            )
            for request_id, fingerprint, response, created, status in rows
        }


def _nothing(_engine: object) -> None:
    return None
