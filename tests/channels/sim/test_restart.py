"""Counters survive a restart of the platform: no replay taken, no MT counter sealed twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from mkoba.channels.sim.cards import mt_block
from mkoba.codes import Code
from mkoba.simcard.refusals import PorStatus
from tests.channels.sim.sim import Sim, new_iccid, platform_server
from tests.products.world import CUSTOMER_PIN, KSH, World, running, wallet

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """On asyncio."""
    return "asyncio"


async def test_counters_survive_a_restart(module_store_url: str, tmp_path: Path) -> None:
    async with running(module_store_url, tmp_path) as platform:
        world = await World(platform).setup()
        payer, friend = await world.customer(500), await world.customer()
        assert payer.msisdn and friend.msisdn
        cards, server = await platform_server(platform)
        sim = Sim(new_iccid(), platform.settings.keys_dir)
        await cards.provision(sim.iccid, payer.msisdn)
        paid = sim.request("send_money", CUSTOMER_PIN, to=friend.msisdn, amount="100")
        assert sim.answer(await server.handle(payer.msisdn, paid)).code == Code.OK
        sim.answer(await server.handle(payer.msisdn, sim.request("balance", CUSTOMER_PIN)))
        sealed_before = sim.received
        assert sealed_before == 2

    async with running(module_store_url, tmp_path) as platform:
        world = World(platform)
        cards, server = await platform_server(platform)
        replayed = sim.open(await server.handle(payer.msisdn, paid))
        assert replayed.status is PorStatus.COUNTER_LOW
        # Above everything the first run may have sealed: its whole reserved block.
        assert replayed.counter > mt_block >= sealed_before
        assert await world.balances(wallet(friend)) == [100 * KSH]
        shown = sim.answer(await server.handle(payer.msisdn, sim.request("balance", CUSTOMER_PIN)))
        assert shown.code == Code.OK
        world.check_books()
