"""A menu download survives a restart of the server: it goes on from the table, not from 0.

Goal: the SIM took the first chunks of a new menu, the server stopped; the
server started again on the same store resumes the push from the first chunk
the SIM had not acknowledged, and the SIM completes the menu. Method: one
platform after the other on SQLite and PostgreSQL, each wired as the
composition root wires the SIM channel, but with no SMSC in this test: its
``send`` keeps the SMS (the path through the SMPP peer is ``test_ota.py``'s),
and the SIM data goes in through ``SimChannel.sim_data``, as the SMS channel
hands it over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from mkoba.app import Platform
from mkoba.channels.sim.channel import SimChannel
from mkoba.channels.ussd import UssdChannel
from mkoba.codes import Code
from mkoba.simcard.concat import (
    COMMAND_PACKET,
    RESPONSE_PACKET,
    Joiner,
    split_packet,
)
from tests.channels.sim.sim import Sim, customer_v5, new_iccid
from tests.processor.world import settings_for
from tests.products.world import CUSTOMER_PIN, World

pytestmark = pytest.mark.anyio
SHORT_CODE = "334"


@pytest.fixture
def anyio_backend() -> str:
    """On asyncio."""
    return "asyncio"


class Air:
    """What the server sends to the SIM (``send``), and the SIM data it sends back."""

    def __init__(self) -> None:
        self.sim = Sim.__new__(Sim)  # the SIM and its number, once provisioned
        self.msisdn = ""
        self.joiner = Joiner()
        self.packets: list[bytes] = []  # the chunk packets sent, joined

    async def send(self, msisdn: str, parts: list[bytes]) -> None:
        assert msisdn == self.msisdn
        for part in parts:
            joined = self.joiner.add("server", part, 0.0)
            if joined is not None:
                assert joined.identifier == COMMAND_PACKET
                self.packets.append(joined.packet)

    async def up(self, channel: SimChannel, packet: bytes, identifier: int) -> list[bytes]:
        """A packet from the SIM through the channel; the SMS of the answer."""
        answer: list[bytes] = []
        for part in split_packet(packet, identifier=identifier, reference=self.sim.counter % 256):
            answer += await channel.sim_data(self.msisdn, SHORT_CODE, part)
        return answer

    async def deliver(self, channel: SimChannel, count: int) -> None:
        """The next ``count`` chunks to the SIM, their receipts back."""
        for packet in self.packets[:count]:
            await self.up(channel, self.sim.take_chunk(packet), RESPONSE_PACKET)
        del self.packets[:count]


@asynccontextmanager
async def serving(url: str, folder: Path, air: Air) -> AsyncIterator[Platform]:
    """A platform wired as the composition root wires it, its SMSC the ``air``."""
    settings = settings_for(url, folder).model_copy(update={"ussd_menus_dir": folder / "menus"})
    platform = Platform(settings)
    assert platform.sim is not None
    ussd = next(channel for channel in platform.channels if isinstance(channel, UssdChannel))
    platform.sim.send = air.send
    platform.sim.menu_document = lambda role: (
        None if ussd.engine is None else ussd.engine.library.current(role).document
    )
    platform.sim.ota.push_delay_s = 0.0
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()


def joined(parts: list[bytes]) -> bytes:
    """The packet the SMS of an answer carry."""
    joiner = Joiner()
    for part in parts:
        whole = joiner.add(SHORT_CODE, part, 0.0)
        if whole is not None:
            return whole.packet
    raise AssertionError("the answer is not whole")


async def _until(check: object, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if callable(check) and check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never got there")


async def test_a_download_resumes_after_a_restart(module_store_url: str, tmp_path: Path) -> None:
    (tmp_path / "menus").mkdir()
    (tmp_path / "menus" / "customer.v5.yaml").write_text(customer_v5(), encoding="utf-8")
    air = Air()
    async with serving(module_store_url, tmp_path, air) as platform:
        world = await World(platform).setup()
        customer = await world.customer(200)
        assert customer.msisdn is not None and platform.sim is not None
        sim = air.sim = Sim(new_iccid(), platform.settings.keys_dir)
        air.msisdn = customer.msisdn
        await platform.sim.cards.provision(sim.iccid, customer.msisdn)
        answer = await air.up(platform.sim, sim.choose("7", "2", CUSTOMER_PIN), COMMAND_PACKET)
        assert sim.answer(joined(answer)).code == Code.OK
        await _until(lambda: len(air.packets) == 4)  # the window
        await air.deliver(platform.sim, 3)
        await _until(lambda: (platform.sim.ota.flight(sim.iccid) or (0,))[0] == 3)
        stored = await platform.sim.ota.download(sim.iccid)
        assert stored is not None and (stored.done, stored.version) == (3, 5)
    assert sim.taken == [0, 1, 2] and sim.menu_version == 4

    air.packets.clear()  # what was in flight when it stopped is lost
    async with serving(module_store_url, tmp_path, air) as platform:
        assert platform.sim is not None
        # On its own, from the table: the first chunk the SIM had not acknowledged.
        await _until(lambda: air.packets)
        while sim.menu_version != 5:
            await _until(lambda: air.packets)
            await air.deliver(platform.sim, len(air.packets))
        assert sim.taken[:4] == [0, 1, 2, 3]
        assert all(sim.taken.count(index) == 1 for index in range(3))
        shown = await air.up(platform.sim, sim.choose("6", CUSTOMER_PIN), COMMAND_PACKET)
        assert sim.answer(joined(shown)).code == Code.OK
        card = platform.sim.cards.get(sim.iccid)
        assert card is not None and card.menu_version == 5
