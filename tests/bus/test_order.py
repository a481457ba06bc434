"""A front's rows before its requests, and its STK locks, against the real NATS server.

"A core" is a ``NatsBus`` serving a small handler; "a front" another that only
requests, as in the cluster form. A front's rows reach the core by another road
than its requests (``bus/order.py``): the core decides a request only once the
rows its front sent before it are queued for the ledger writer.
"""

from __future__ import annotations

import asyncio

import pytest

from mkoba.bus.members import Members
from mkoba.codes import Code
from mkoba.processor.request import Request, Response
from tests.bus.test_takeover import bus, request

pytestmark = pytest.mark.anyio


async def _acknowledge(_id: str, _delivered: bool) -> bool:
    return True


async def test_a_request_is_decided_only_after_the_rows_its_front_sent_first(
    bus_url: str,
) -> None:
    decided: list[str] = []

    async def handler(found: Request) -> Response:
        decided.append(found.id)
        return Response(found.id, Code.OK, "decided")

    core = await bus(bus_url)
    await core.serve(handler, _acknowledge)
    front = await bus(bus_url)
    try:
        front.order.sending("prompt-row")
        asked = asyncio.create_task(front.request(request(), 10.0))
        await asyncio.sleep(0.5)
        assert decided == [] and not asked.done()  # the rows have not reached the writer
        core.order.queued("prompt-row")
        response = await asyncio.wait_for(asked, 5)
        assert response.code is Code.OK and len(decided) == 1
        # Settled rows are not waited for: the next request is decided at once.
        front.order.settled("prompt-row")
        again = await asyncio.wait_for(front.request(request(), 10.0), 5)
        assert again.code is Code.OK and len(decided) == 2
    finally:
        for each in (front, core):
            await each.close()


async def test_a_request_whose_rows_never_come_is_busy_and_never_decided(
    bus_url: str,
) -> None:
    decided: list[str] = []

    async def handler(found: Request) -> Response:
        decided.append(found.id)
        return Response(found.id, Code.OK, "decided")

    core = await bus(bus_url)
    await core.serve(handler, _acknowledge)
    front = await bus(bus_url)
    try:
        front.order.sending("lost-row")  # e.g. a core that died after committing it
        response = await front.request(request(), 1.0)
        assert response.code is Code.SYSTEM_BUSY
        await asyncio.sleep(1.0)  # the core answered it past its deadline, deciding nothing
        core.order.queued("lost-row")
        await asyncio.sleep(0.3)
        assert decided == []
    finally:
        for each in (front, core):
            await each.close()


async def test_a_request_after_rows_an_earlier_core_committed_is_decided(bus_url: str) -> None:
    """The core that took the rows died; this one finds them committed and decides it."""
    decided: list[str] = []

    async def handler(found: Request) -> Response:
        decided.append(found.id)
        return Response(found.id, Code.OK, "decided")

    async def committed(batch: str) -> bool:  # the store's marks (bus/batches.py)
        return batch == "committed-before"

    core = await bus(bus_url)
    core.order.lookup = committed
    await core.serve(handler, _acknowledge)
    front = await bus(bus_url)
    try:
        front.order.sending("committed-before")
        response = await asyncio.wait_for(front.request(request(), 10.0), 5)
        assert response.code is Code.OK and len(decided) == 1
    finally:
        for each in (front, core):
            await each.close()


async def test_a_released_lock_is_claimed_by_exactly_one_front(bus_url: str) -> None:
    first, second = await bus(bus_url), await bus(bus_url)
    one, other = Members(first, "front-one"), Members(second, "front-two")
    await one.start()
    await other.start()
    try:
        key = "stk-lock.254700000001"
        assert await one.claim(key)
        assert not await other.claim(key)
        await one.release(key)
        assert await one.claim(key)  # again, from the marker it left
        assert not await other.claim(key)
        await one.release(key)
        assert await other.claim(key)  # another front takes the freed lock
        assert not await one.claim(key)  # its marker is no longer the key's last word
        assert await other.holder(key) == "front-two"
    finally:
        for members in (one, other):
            await members.stop()
        for each in (first, second):
            await each.close()
