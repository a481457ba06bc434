"""The in-process bus: a bounded queue and a pool of worker tasks, one event loop."""

from __future__ import annotations

import asyncio
import logging

from mkoba.bus import Acknowledger, Handler
from mkoba.codes import Code
from mkoba.processor.request import Request, Response, failure

log = logging.getLogger("mkoba.bus")

# Requests queued for TranProc before channels are told the system is busy.
queue_requests_max = 10_000


class MemoryBus:
    """Requests go on a bounded asyncio queue; ``workers`` tasks hand them to TranProc."""

    def __init__(self, workers: int = 64) -> None:
        assert workers > 0
        self.workers = workers
        self._queue: asyncio.Queue[tuple[Request, asyncio.Future[Response]] | None] = asyncio.Queue(
            maxsize=queue_requests_max
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._acknowledger: Acknowledger | None = None

    async def serve(self, handler: Handler, acknowledger: Acknowledger) -> None:
        """Start the workers."""
        assert not self._tasks, "already serving"
        self._acknowledger = acknowledger
        self._tasks = [
            asyncio.create_task(self._work(handler), name=f"tranproc-{index}")
            for index in range(self.workers)
        ]

    async def request(self, request: Request, timeout_s: float) -> Response:
        """Queue ``request``; its response, or SYSTEM_BUSY when the queue is full or slow."""
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait((request, future))
        except asyncio.QueueFull:
            return failure(request, Code.SYSTEM_BUSY)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            # TranProc may still finish; the delivery deadline rolls back what it moved.
            return failure(request, Code.SYSTEM_BUSY)

    async def acknowledge(self, request_id: str, delivered: bool = True) -> bool:
        """Pass a delivery acknowledgement to TranProc."""
        assert self._acknowledger is not None, "not serving"
        return await self._acknowledger(request_id, delivered)

    def health(self) -> dict[str, object]:
        """For /health: whether TranProc's workers run, and how many requests wait."""
        alive = sum(not task.done() for task in self._tasks)
        return {
            "state": "ok" if alive == self.workers else "failed",
            "kind": "memory",
            "workers": alive,
            "queued": self._queue.qsize(),
        }

    async def close(self) -> None:
        """Stop the workers; answer what is still queued with SYSTEM_BUSY."""
        for _ in self._tasks:
            await self._queue.put(None)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None and not item[1].done():
                item[1].set_result(failure(item[0], Code.SYSTEM_BUSY))

    async def _work(self, handler: Handler) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            request, future = item
            try:
                response = await handler(request)
            except Exception:
                log.exception("request %s failed", request.id)
                response = failure(request, Code.SYSTEM_ERROR)
            if not future.done():
                future.set_result(response)
