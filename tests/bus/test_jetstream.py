"""The NATS JetStream bus, against the real NATS server: requests cross it and money moves.

Each test has a subject prefix of its own (its stream is deleted afterwards).
The platform serves TranProc on the bus; "a channel elsewhere" is a second
``NatsBus`` that only requests, as a channel process does in the cluster form.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import nats
import pytest

from mkoba.app import Platform
from mkoba.bus.jetstream import BusUnavailable, NatsBus
from mkoba.codes import Code
from mkoba.commands.catalog import NoInput, PayPerson
from mkoba.parties import Pin, load_or_create_key, seal_pin
from mkoba.processor.request import Channel, Request
from mkoba.settings import Settings
from tests.processor.world import (
    CUSTOMER_PIN,
    KSH,
    World,
    available,
    call,
    fast_profile,
    rows,
    running,
    wallet,
)

pytestmark = pytest.mark.anyio


def settings(folder: Path, bus_url: str, deadline_s: int = 2) -> Settings:
    return Settings(
        db=str(folder / "mkoba.db"),
        keys_dir=folder / "keys",
        profile=str(fast_profile(folder, deadline_s)),
        demo=False,
        bus=bus_url,
    )


async def queued(bus_url: str) -> tuple[int, int]:
    """Messages still in the request stream, and requests taken but not yet answered."""
    bus = NatsBus(bus_url)
    await bus.connect()
    try:
        assert bus._js is not None
        stream = await bus._js.stream_info(bus.stream)
        try:
            consumer = await bus._js.consumer_info(bus.stream, "tranproc")
            in_hand = consumer.num_ack_pending
        except nats.js.errors.NotFoundError:
            in_hand = 0
        return stream.state.messages, in_hand
    finally:
        await bus.close()


def balance_request(folder: Path, msisdn: str, request_id: str) -> Request:
    """A balance query as a channel process builds it: the PIN sealed with the transport key."""
    key = load_or_create_key(folder / "keys" / "transport.key")
    sealed = seal_pin(Pin(CUSTOMER_PIN), key, request_id.encode())
    return Request(request_id, Channel.API, "balance", msisdn, NoInput(), sealed, time.time_ns())


async def test_money_moves_through_jetstream_and_the_queue_empties(
    tmp_path: Path, bus_url: str
) -> None:
    async with running(settings(tmp_path, bus_url)) as platform:
        assert type(platform.bus).__name__ == "NatsBus"
        world = await World(platform).setup()
        payer = await world.customer(5_000)
        payee = await world.customer()
        assert payer.msisdn is not None and payee.msisdn is not None
        response = await call(
            platform, "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="1,000"
        )
        assert response.code is Code.OK, response
        assert await available(platform, wallet(payer)) == 3_987 * KSH
        assert await available(platform, wallet(payee)) == 1_000 * KSH
        # A wrong PIN crosses sealed and is refused by TranProc, not by the bus.
        refused = await call(platform, "balance", payer.msisdn, "9999")
        assert refused.code is Code.WRONG_PIN, refused
        assert await queued(bus_url) == (0, 0)


async def test_a_request_waits_in_the_stream_while_no_tranproc_runs(
    tmp_path: Path, bus_url: str
) -> None:
    config = settings(tmp_path, bus_url)
    async with running(config) as platform:
        world = await World(platform).setup()
        customer = await world.customer(700)
        assert customer.msisdn is not None
    # TranProc is down; a channel elsewhere asks, and the request waits on disk in NATS.
    channel = NatsBus(bus_url)
    await channel.connect()
    try:
        request = balance_request(tmp_path, customer.msisdn, f"test:{uuid.uuid4().hex}")
        answer = asyncio.create_task(channel.request(request, 30.0))
        await asyncio.sleep(0.5)
        assert not answer.done()
        assert (await queued(bus_url))[0] == 1
        async with running(config):
            response = await asyncio.wait_for(answer, 20.0)
        assert response.code is Code.OK, response
        assert response.data["balance"] == 700 * KSH
    finally:
        await channel.close()
    assert await queued(bus_url) == (0, 0)


async def test_a_request_taken_after_its_deadline_moves_nothing(
    tmp_path: Path, bus_url: str
) -> None:
    config = settings(tmp_path, bus_url)
    async with running(config) as platform:
        world = await World(platform).setup()
        payer = await world.customer(2_000)
        payee = await world.customer()
        assert payer.msisdn is not None and payee.msisdn is not None
    channel = NatsBus(bus_url)
    await channel.connect()
    request_id = f"test:{uuid.uuid4().hex}"
    key = load_or_create_key(tmp_path / "keys" / "transport.key")
    request = Request(
        request_id,
        Channel.SYSTEM,
        "send_money",
        payer.msisdn,
        PayPerson(payee.msisdn, 500 * 100),
        seal_pin(Pin(CUSTOMER_PIN), key, request_id.encode()),
        time.time_ns(),
    )
    try:
        # Nobody takes it in time: the channel tells its user the system is busy...
        response = await channel.request(request, 0.5)
        assert response.code is Code.SYSTEM_BUSY
    finally:
        await channel.close()
    # ...so the TranProc that takes it later must not act on it.
    async with running(config) as platform:
        for _ in range(100):
            if await queued(bus_url) == (0, 0):
                break
            await asyncio.sleep(0.05)
        assert await queued(bus_url) == (0, 0)
        assert await available(platform, wallet(payer)) == 2_000 * KSH
        assert await available(platform, wallet(payee)) == 0
        assert await rows(platform, "SELECT status FROM requests WHERE id = ?", (request_id,)) == []


async def test_acknowledgements_cross_the_bus_once(tmp_path: Path, bus_url: str) -> None:
    async with running(settings(tmp_path, bus_url, deadline_s=30)) as platform:
        world = await World(platform).setup()
        payer = await world.customer(3_000)
        payee = await world.customer()
        assert payer.msisdn is not None and payee.msisdn is not None
        response = await call(
            platform,
            "send_money",
            payer.msisdn,
            CUSTOMER_PIN,
            ack=False,
            to=payee.msisdn,
            amount="1,000",
        )
        assert response.code is Code.OK, response
        # Pending until acknowledged: the payee cannot spend it yet.
        assert await available(platform, wallet(payee)) == 0
        assert await platform.acknowledge(response.request_id) is True
        # Once posted it stands: a second acknowledgement posts nothing more.
        assert await platform.acknowledge(response.request_id) is True
        assert await platform.acknowledge(response.request_id, False) is False
        assert await available(platform, wallet(payee)) == 1_000 * KSH
        # A replay of the same request id is answered as the first was; nothing moves again.
        # It needs the PIN as the first did: without it, the answer is not shown.
        replay = Request(
            response.request_id,
            Channel.API,
            "send_money",
            payer.msisdn,
            PayPerson(payee.msisdn, 1_000 * 100),
            None,
            time.time_ns(),
        )
        refused = await platform.request(replay)
        assert (refused.code, refused.receipt) == (Code.INVALID_INPUT, None)
        sealed = seal_pin(Pin(CUSTOMER_PIN), platform.transport_key, replay.id.encode())
        again = await platform.request(replay._replace(pin=sealed))
        assert (again.code, again.receipt) == (response.code, response.receipt)
        assert await available(platform, wallet(payee)) == 1_000 * KSH


async def test_an_unreachable_bus_fails_the_start_clearly(tmp_path: Path) -> None:
    platform = Platform(settings(tmp_path, "nats://127.0.0.1:1/mkoba"))
    with pytest.raises(BusUnavailable, match=r"cannot reach NATS at nats://127\.0\.0\.1:1"):
        await platform.start()
    assert not (tmp_path / "mkoba.db").exists()
