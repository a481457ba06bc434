"""The bus-wide lease (``bus/lease.py``) against the real NATS server.

Two ``NatsBus`` connections on one prefix stand for two validator processes. The
lease lives 2 s here (8 s in service), so expiry is seen within a few seconds.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from mkoba.bus.jetstream import NatsBus
from mkoba.bus.lease import KvLease, LeaseLostError

pytestmark = pytest.mark.anyio
TTL_S = 2.0


async def leases(url: str) -> tuple[list[NatsBus], KvLease, KvLease]:
    buses = [NatsBus(url), NatsBus(url)]
    for bus in buses:
        await bus.connect()
    first, second = (
        KvLease(bus, "VALIDATOR", ttl_s=TTL_S, me=f"v{n}") for n, bus in enumerate(buses)
    )
    await first.open()
    await second.open()
    return buses, first, second


async def until_taken(lease: KvLease, within_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        if await lease.take():
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError("the lease was never taken")


async def test_one_holder_renews_and_a_second_cannot_take_it_meanwhile(bus_url: str) -> None:
    buses, first, second = await leases(bus_url)
    try:
        assert await first.take()
        assert first.fresh() and await first.holder() == "v0"
        for _ in range(4):  # twice the lease's life, renewed: never free
            await asyncio.sleep(TTL_S / 4)
            await first.renew()
            assert not await second.take()
        assert first.fresh() and not second.held and await second.holder() == "v0"
    finally:
        for bus in buses:
            await bus.close()


async def test_an_unrenewed_lease_is_taken_after_expiry_and_the_old_holder_loses_it(
    bus_url: str,
) -> None:
    buses, first, second = await leases(bus_url)
    try:
        assert await first.take()
        waited = await until_taken(second, TTL_S * 4)  # the first stops renewing (paused)
        assert waited >= TTL_S * 0.75, waited
        # By its own clock the first went stale before the second could take it over.
        assert not first.fresh()
        with pytest.raises(LeaseLostError):
            await first.renew()
        assert not first.held and not await first.take()
        assert second.fresh() and await second.holder() == "v1"
    finally:
        for bus in buses:
            await bus.close()


async def test_a_released_lease_is_taken_at_once(bus_url: str) -> None:
    buses, first, second = await leases(bus_url)
    try:
        assert await first.take()
        await first.release()
        assert not first.fresh()
        assert await second.take()
    finally:
        for bus in buses:
            await bus.close()
