"""Live notices across processes, against the real NATS server.

Two ``BusNotices`` on two NATS connections with one bus prefix stand for two
processes of a split platform (a front and a core); a third on another prefix is
another platform on the same NATS server. A phone's stream is a ``listen`` queue
on one of them, as the notices route holds it. "Once" is checked by telling a
second notice after the first: it must come next, and nothing after it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest

from mkoba.bus.jetstream import NatsBus
from mkoba.channels.app.bus_notices import BusNotices
from mkoba.channels.app.notices import END, Board, Notice

pytestmark = pytest.mark.anyio

PHONE = "254712345678"
OTHER = "254733000111"
# How long a notice may take to arrive, and how long we watch for one that must not.
arrive_s = 3.0
quiet_s = 0.2


@asynccontextmanager
async def processes(*urls: str) -> AsyncIterator[list[BusNotices]]:
    """A started ``BusNotices`` per URL, each on a NATS connection of its own."""
    async with AsyncExitStack() as stack:
        found = []
        for url in urls:
            bus = NatsBus(url)
            await bus.connect()
            stack.push_async_callback(bus.close)
            notices = BusNotices(bus)
            await notices.start()
            stack.push_async_callback(notices.stop)
            found.append(notices)
        yield found


async def arrives(queue: asyncio.Queue[Notice]) -> Notice:
    return await asyncio.wait_for(queue.get(), arrive_s)


async def only(told: Board, phone: str, *queues: asyncio.Queue[Notice]) -> None:
    """Nothing more comes to ``queues`` (``phone``'s) than a marker told after, on ``told``."""
    told.publish(phone, "marker", {})
    for queue in queues:
        assert (await arrives(queue)).event == "marker"
    await asyncio.sleep(quiet_s)
    assert all(queue.empty() for queue in queues)


async def test_a_stream_on_another_process_hears_a_notice_once(bus_url: str) -> None:
    async with processes(bus_url, bus_url) as (front, core):
        with core.listen(PHONE) as queue:
            front.publish(PHONE, "payment", {"direction": "in", "amount": 12_500})
            notice = await arrives(queue)
            assert (notice.event, notice.data) == ("payment", {"direction": "in", "amount": 12_500})
            await only(front, PHONE, queue)


async def test_a_stream_hears_its_own_process_once(bus_url: str) -> None:
    async with processes(bus_url, bus_url) as (front, core):
        with front.listen(PHONE) as queue, core.listen(PHONE) as there:
            front.publish(PHONE, "payment", {"direction": "out"})
            assert (await arrives(queue)).data == {"direction": "out"}
            assert (await arrives(there)).data == {"direction": "out"}
            await only(front, PHONE, queue, there)


async def test_an_end_on_one_process_ends_the_streams_on_all(bus_url: str) -> None:
    async with processes(bus_url, bus_url) as (front, core):
        with front.listen(PHONE) as here, core.listen(PHONE) as there, core.listen(OTHER) as other:
            front.end(PHONE, "new_device")
            assert front.phones() == []  # this process's streams end at once
            # The end's echo on its own process does not end a stream opened since
            # (the phone's new device reconnecting).
            with front.listen(PHONE) as again:
                for queue in (here, there):
                    notice = await arrives(queue)
                    assert (notice.event, notice.data) == (END, {"reason": "new_device"})
                assert core.phones() == [OTHER]
                await only(front, PHONE, again)
            await only(front, OTHER, other)
            assert here.empty() and there.empty()


async def test_a_phone_with_no_stream_costs_nothing(
    bus_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with processes(bus_url, bus_url) as (front, core):
        with core.listen(OTHER) as queue:
            front.publish(PHONE, "payment", {})
            front.end(PHONE, "unbind")
            await only(front, OTHER, queue)  # what came before was heard and dropped
        assert front.listening() == 0 and core.listening() == 0
    assert not [r for r in caplog.records if r.name == "mkoba.channels.app.notices"]


async def test_another_prefix_hears_nothing(bus_url: str) -> None:
    async with processes(bus_url, f"{bus_url}-other") as (front, elsewhere):
        with elsewhere.listen(PHONE) as queue:
            front.publish(PHONE, "payment", {})
            front.end(PHONE, "unbind")
            await asyncio.sleep(quiet_s * 2)
            assert queue.empty()
            await only(elsewhere, PHONE, queue)


@pytest.mark.parametrize("phone", ["+254712345678", "2547.1", "*", ">", "", "1" * 16, "٣"])
async def test_a_number_that_is_not_digits_is_refused(bus_url: str, phone: str) -> None:
    async with processes(bus_url) as (front,):
        with pytest.raises(ValueError, match="digits only"):
            front.publish(phone, "payment", {})
        with pytest.raises(ValueError, match="digits only"):
            front.end(phone, "unbind")


async def test_a_malformed_message_is_dropped_and_logged_without_its_content(
    bus_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    bodies: list[bytes] = [b"secret-ish \xff", b"[1]", b'{"event": "", "data": {}}']
    bodies += [b'{"event": "payment", "data": 1}', b'{"end": 1, "from": "x"}']
    async with processes(bus_url, bus_url) as (front, core):
        raw = NatsBus(bus_url)
        await raw.connect()
        try:
            with core.listen(PHONE) as queue:
                for body in bodies:
                    await raw.client.publish(f"{raw.prefix}.app.notices.{PHONE}", body)
                await raw.client.flush()
                await only(front, PHONE, queue)
        finally:
            await raw.close()
    dropped = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(dropped) == len(bodies)
    assert not [text for text in dropped if "secret" in text or "payment" in text]


async def test_a_notice_while_nats_is_away_is_dropped_not_raised(
    bus_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    bus = NatsBus(bus_url)
    await bus.connect()
    notices = BusNotices(bus)
    await notices.start()
    with notices.listen(PHONE) as queue:
        await bus.close()  # the connection is gone
        notices.publish(PHONE, "payment", {})
        notices.publish(PHONE, "payment", {})
        notices.end(PHONE, "unbind")  # this process's streams end all the same
        assert (await arrives(queue)).data == {"reason": "unbind"}
    await notices.stop()
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and "dropped" in r.msg]
    assert len(warned) == 1  # once per outage, not per notice


async def test_a_process_that_stops_ends_only_its_own_streams(bus_url: str) -> None:
    async with processes(bus_url, bus_url) as (front, core):
        with front.listen(PHONE) as here, core.listen(PHONE) as there:
            await front.stop()
            notice = await arrives(here)
            assert notice.data == {"reason": "the platform is stopping"}
            await only(core, PHONE, there)
            front.publish(PHONE, "payment", {})  # told from a stopped process: still heard
            assert (await arrives(there)).event == "payment"
