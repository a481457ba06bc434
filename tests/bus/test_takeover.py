"""The bus's timings across a TranProc's death, against the real NATS server.

Each test has a prefix of its own. "A TranProc" is a ``NatsBus`` serving a small
handler; "a channel" is another that only requests and acknowledges, as a front
process does in the cluster form.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from mkoba.bus.jetstream import BusUnavailable, NatsBus
from mkoba.codes import Code
from mkoba.commands.catalog import NoInput
from mkoba.processor.request import Channel, Request, Response

pytestmark = pytest.mark.anyio
LEDGER = "00000000000000aa"


def request() -> Request:
    return Request(f"t:{uuid.uuid4().hex}", Channel.API, "balance", "254700000001", NoInput())


async def bus(url: str, ledger: str = LEDGER, redelivery_s: float = 1.0) -> NatsBus:
    found = NatsBus(url, workers=4, redelivery_s=redelivery_s)
    await found.connect()
    await found.bind(ledger)
    return found


async def test_a_prefix_belongs_to_the_ledger_that_bound_it_first(bus_url: str) -> None:
    first = await bus(bus_url)
    same = await bus(bus_url)  # another process of the same ledger joins
    other = NatsBus(bus_url)
    await other.connect()
    try:
        with pytest.raises(BusUnavailable, match=f"belongs to ledger {LEDGER}.*bb"):
            await other.bind("00000000000000bb")
    finally:
        for each in (first, same, other):
            await each.close()


async def test_a_dead_tranprocs_request_is_answered_by_another_within_seconds(
    bus_url: str,
) -> None:
    """The first TranProc takes the request and dies; the second answers it soon after."""
    taken = asyncio.Event()

    async def hang(_request: Request) -> Response:
        taken.set()
        await asyncio.sleep(3600)
        raise AssertionError("never")

    async def answer(found: Request) -> Response:
        return Response(found.id, Code.OK, "second")

    async def acknowledge(_id: str, _delivered: bool) -> bool:
        return True

    dying = await bus(bus_url)
    await dying.serve(hang, acknowledge)
    channel = await bus(bus_url)
    try:
        asked = asyncio.create_task(channel.request(request(), 20.0))
        await asyncio.wait_for(taken.wait(), 5)
        # Dies: its connection goes without a word (no answer, no acknowledgement).
        await dying.client.close()
        died = time.monotonic()
        second = await bus(bus_url)
        await second.serve(answer, acknowledge)
        response = await asyncio.wait_for(asked, 15)
        resumed_s = time.monotonic() - died
        await second.close()
    finally:
        await channel.close()
    assert (response.code, response.message) == (Code.OK, "second")
    # Redelivery after 1 s here (3 s by default), not JetStream's 30 s or the old 60 s.
    assert resumed_s < 4.0, resumed_s


async def test_long_work_is_not_offered_to_another_tranproc(bus_url: str) -> None:
    """Work longer than the redelivery time keeps its request: it is decided once."""
    calls = 0

    async def slow(found: Request) -> Response:
        nonlocal calls
        calls += 1
        await asyncio.sleep(3.5)
        return Response(found.id, Code.OK, "slow")

    async def acknowledge(_id: str, _delivered: bool) -> bool:
        return True

    first = await bus(bus_url)
    second = await bus(bus_url)
    await first.serve(slow, acknowledge)
    await second.serve(slow, acknowledge)
    channel = await bus(bus_url)
    try:
        response = await channel.request(request(), 20.0)
        await asyncio.sleep(1.5)  # a redelivery, were there one, would have come by now
    finally:
        for each in (channel, first, second):
            await each.close()
    assert response.code is Code.OK
    assert calls == 1


async def test_an_acknowledgement_waits_for_a_tranproc_until_its_deadline(bus_url: str) -> None:
    """No TranProc listens when the channel acknowledges; one that starts soon after posts."""
    acknowledged: list[tuple[str, bool]] = []

    async def answer(found: Request) -> Response:
        return Response(found.id, Code.OK, "ok")

    async def acknowledge(request_id: str, delivered: bool) -> bool:
        acknowledged.append((request_id, delivered))
        return True

    core = await bus(bus_url)
    await core.serve(answer, acknowledge)
    channel = await bus(bus_url)
    try:
        sent = request()
        assert (await channel.request(sent, 10.0)).code is Code.OK
        await core.close()  # the core goes down between the answer and its delivery
        acked = asyncio.create_task(channel.acknowledge(sent.id))
        await asyncio.sleep(1.0)
        assert not acked.done()
        standby = await bus(bus_url)
        await standby.serve(answer, acknowledge)
        assert await asyncio.wait_for(acked, 10)
        await standby.close()
        # Past its deadline, nobody listening: the channel gives up and says so.
        late = request()
        task = asyncio.create_task(channel.request(late, 0.5))
        assert (await task).code is Code.SYSTEM_BUSY
        started = time.monotonic()
        assert not await channel.acknowledge(late.id)
        assert time.monotonic() - started < 6.0
    finally:
        await channel.close()
    assert acknowledged == [(sent.id, True)]
