"""Menus over the air, end to end: a new menu item is a data file plus this push.

Goal: a SIM on an older menu, once its role's menu has a new version (a new
definition file dropped into the USSD menus folder), gets the new menu pushed
as secured SIM data SMS through the real SMPP peer, after the answer to its
request; it runs its old menu until the new one is whole and checked, then
reports the new version, and the server stores it. A download cut short (lost
chunks, a phone out of reach) goes on from where it stopped, never from the
first chunk; chunks replayed or altered on the way are refused by the SIM.

Method: the platform runs in process, bound to the peer; the test wires the
SIM channel's ``send`` and ``menu_document`` the composition root wired
(``wire`` checks them). The peer plays the phone: what reaches it is joined, answers are
opened by the test SIM, chunks go to the SIM's menu store and its proofs of
receipt go back through the SMSC. Re-sending runs with a short timeout.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.simcard.applet import Answer, decode_answer
from mkoba.simcard.concat import COMMAND_PACKET, RESPONSE_PACKET, Joiner, split_packet
from mkoba.simcard.packet import Response
from mkoba.simcard.refusals import PorStatus
from tests.channels.sim.sim import Sim, customer_v5, new_iccid
from tests.channels.sms.peer import Peer
from tests.conftest import MakePlatform
from tests.products.world import CUSTOMER_PIN, World

pytestmark = pytest.mark.anyio

SHORT_CODE = "334"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """The test and its platform on one asyncio loop."""
    return "asyncio"


@pytest.fixture(scope="module")
def menus_dir(module_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The operator's USSD menus folder (``MKOBA_USSD_MENUS_DIR``), empty at first (one
    per store the module runs on)."""
    del module_store_url
    return tmp_path_factory.mktemp("menus")


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform, peer: Peer, menus_dir: Path) -> Platform:
    """A platform bound to the peer, its SIM channel wired, re-sending after 2 s."""
    platform = await make_platform("sim_ota", smpp=peer.url, ussd_menus_dir=menus_dir)
    assert platform.sms is not None and platform.sms.esme is not None
    assert await platform.sms.esme.wait_bound(10)
    wire(platform)
    assert platform.sim is not None
    platform.sim.ota.resend_s = 2.0
    platform.sim.ota.push_delay_s = 0.2
    platform.sim.ota.attempts_max = 3
    return platform


def wire(platform: Platform) -> None:
    """The composition root has wired the SIM channel to the SMSC and the USSD menus."""
    sim, sms = platform.sim, platform.sms
    assert sim is not None and sms is not None and sms.esme is not None
    assert sim.send is not None and sim.menu_document is not None
    assert json.loads(sim.menu_document("customer") or "{}")["role"] == "customer"


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    return await World(platform).setup()


async def roll_out(platform: Platform, menus_dir: Path) -> None:
    """The data change: customer menu v5 in the menus folder, and the library has it."""
    path = menus_dir / "customer.v5.yaml"
    if not path.exists():
        path.write_text(customer_v5(), encoding="utf-8")
    assert platform.sim is not None and platform.sim.menu_document is not None
    current = platform.sim.menu_document
    for _ in range(200):  # the USSD library looks at its folder every 2 s
        document = current("customer")
        if document is not None and json.loads(document)["version"] == 5:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the new menu version was not loaded")


@pytest.fixture
async def rolled_out(platform: Platform, menus_dir: Path) -> None:
    await roll_out(platform, menus_dir)


class Phone:
    """A handset with a SIM, on the peer: answers to the SIM, chunks to its menu store."""

    def __init__(self, peer: Peer, msisdn: str, sim: Sim) -> None:
        self.peer = peer
        self.msisdn = msisdn
        self.sim = sim
        self.seen = 0
        self.reference = 0
        self.joiner = Joiner()
        self.answers: list[Response] = []
        self.arrived: list[bytes] = []  # every chunk packet that reached the phone
        # Which arrivals (by their order) the phone loses, and how the air alters them.
        self.drop: Callable[[int], bool] = lambda number: False
        self.alter: Callable[[int, bytes], bytes] = lambda number, packet: packet

    def send(self, packet: bytes, identifier: int = COMMAND_PACKET) -> None:
        self.reference = (self.reference + 1) % 256
        for part in split_packet(packet, identifier=identifier, reference=self.reference):
            self.peer.mo_binary(self.msisdn, SHORT_CODE, part)

    def deliver(self, packet: bytes) -> None:
        """A chunk packet to the SIM; its proof of receipt back to the server."""
        self.send(self.sim.take_chunk(packet), RESPONSE_PACKET)

    async def poll(self) -> None:
        messages = await asyncio.to_thread(self.peer.messages, self.msisdn)
        for message in messages[self.seen :]:
            self.seen += 1
            if message["protocol_id"] != 0x7F:
                continue  # a text SMS (a confirmation)
            joined = self.joiner.add(message["source"], bytes.fromhex(message["hex"]), 0.0)
            if joined is None:
                continue
            if joined.identifier == RESPONSE_PACKET:
                self.answers.append(self.sim.open(joined.packet))  # in the order they came
                continue
            number = len(self.arrived)
            self.arrived.append(joined.packet)
            if not self.drop(number):
                self.deliver(self.alter(number, joined.packet))

    async def until(self, check: Callable[[], object], timeout_s: float = 30.0) -> None:
        for _ in range(int(timeout_s / 0.05)):
            await self.poll()
            if check():
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the phone never got there")

    async def ask(self, packet: bytes) -> Answer:
        """Send a request; the answer the SIM shows."""
        self.send(packet)
        await self.until(lambda: self.answers)
        response = self.answers.pop(0)
        assert response.status is PorStatus.OK
        return decode_answer(response.data)


async def phone_for(platform: Platform, peer: Peer, msisdn: str | None) -> Phone:
    assert msisdn is not None and platform.sim is not None
    iccid = new_iccid()
    await platform.sim.cards.provision(iccid, msisdn)
    return Phone(peer, msisdn, Sim(iccid, platform.settings.keys_dir))


def stored_version(platform: Platform, phone: Phone) -> int:
    assert platform.sim is not None
    card = platform.sim.cards.get(phone.sim.iccid)
    assert card is not None
    return card.menu_version


async def test_a_new_menu_item_rolls_out_to_the_sim_over_the_air(
    platform: Platform, world: World, peer: Peer, menus_dir: Path
) -> None:
    customer = await world.customer(1_000)
    phone = await phone_for(platform, peer, customer.msisdn)
    assert platform.sim is not None and platform.sim.menu_document is not None
    assert json.loads(platform.sim.menu_document("customer") or "{}")["version"] == 4

    # Its role's current menu: answered, and nothing pushed.
    shown = await phone.ask(phone.sim.choose("7", "2", CUSTOMER_PIN))
    assert shown.code == Code.OK and "1,000.00" in shown.message, shown
    await asyncio.sleep(0.6)
    await phone.poll()
    assert phone.arrived == [] and platform.sim.ota.flight(phone.sim.iccid) is None
    with pytest.raises(LookupError):
        phone.sim.choose("6", CUSTOMER_PIN)  # not on the menu v4

    await roll_out(platform, menus_dir)
    # The SIM on v4 asks: its answer first, then the new menu over the air.
    shown = await phone.ask(phone.sim.choose("7", "2", CUSTOMER_PIN))
    assert shown.code == Code.OK, shown
    assert stored_version(platform, phone) == 4
    await phone.until(lambda: phone.sim.menu_version == 5)
    assert sorted(phone.sim.taken) == list(range(len(phone.arrived)))  # each chunk once

    # From now on it runs v5: the new item works and every request says so.
    shown = await phone.ask(phone.sim.choose("6", CUSTOMER_PIN))
    assert shown.code == Code.OK and "1,000.00" in shown.message, shown
    assert stored_version(platform, phone) == 5
    download = await platform.sim.ota.download(phone.sim.iccid)
    assert download is not None and download.complete and download.version == 5
    await asyncio.sleep(0.6)
    await phone.poll()
    assert len(phone.arrived) == download.total  # no push to a SIM on the current menu


async def test_lost_altered_and_replayed_chunks_do_not_start_the_download_over(
    platform: Platform, world: World, peer: Peer, rolled_out: None
) -> None:
    customer = await world.customer(300)
    phone = await phone_for(platform, peer, customer.msisdn)
    tampered = bytearray()

    def alter(number: int, packet: bytes) -> bytes:
        if number != 5:
            return packet
        tampered[:] = packet
        tampered[-1] ^= 0x01  # a bit flipped on the air
        return bytes(tampered)

    phone.drop = lambda number: number in (2, 3)  # the 3rd and 4th chunks are lost
    phone.alter = alter
    assert (await phone.ask(phone.sim.choose("7", "2", CUSTOMER_PIN))).code == Code.OK
    await phone.until(lambda: phone.sim.menu_version == 5)

    assert phone.sim.refused == [PorStatus.CHECKSUM_FAILED]
    assert phone.sim.taken[:2] == [0, 1]  # taken before the loss, never sent again
    assert phone.sim.taken.count(0) == phone.sim.taken.count(1) == 1
    total = len(set(phone.sim.taken))
    assert len(phone.arrived) < 2 * total  # resumed, not started over

    # A chunk that came before, delivered again: refused (counter low), the menu kept.
    menu = phone.sim.menu
    phone.deliver(phone.arrived[0])
    assert phone.sim.refused[-1] is PorStatus.COUNTER_LOW
    assert phone.sim.menu is menu and phone.sim.menu_version == 5
    shown = await phone.ask(phone.sim.choose("6", CUSTOMER_PIN))
    assert shown.code == Code.OK and "300.00" in shown.message, shown


async def test_the_old_menu_serves_until_the_new_one_is_whole(
    platform: Platform, world: World, peer: Peer, rolled_out: None
) -> None:
    customer = await world.customer(700)
    phone = await phone_for(platform, peer, customer.msisdn)
    assert platform.sim is not None
    ota = platform.sim.ota
    reachable = True
    phone.drop = lambda number: not reachable

    assert (await phone.ask(phone.sim.choose("7", "2", CUSTOMER_PIN))).code == Code.OK
    await phone.until(lambda: len(phone.sim.taken) >= 6)
    reachable = False  # the phone goes out of reach mid-download
    await phone.until(lambda: (ota.flight(phone.sim.iccid) or (0, 0, False))[2], 20)
    done, total, _ = ota.flight(phone.sim.iccid) or (0, 0, False)
    assert 6 <= done < total
    stored = await ota.download(phone.sim.iccid)
    assert stored is not None and stored.done == done  # how far it got, in the table

    # Still v4: the new item is not there, the old menu works, and the server knows.
    assert phone.sim.menu_version == 4
    with pytest.raises(LookupError):
        phone.sim.choose("6", CUSTOMER_PIN)
    reachable = True
    shown = await phone.ask(phone.sim.choose("7", "2", CUSTOMER_PIN))
    assert shown.code == Code.OK and "700.00" in shown.message, shown
    assert stored_version(platform, phone) == 4

    # That request started the push again, from where it stopped.
    await phone.until(lambda: phone.sim.menu_version == 5)
    assert all(phone.sim.taken.count(index) == 1 for index in range(done))
    assert (await phone.ask(phone.sim.choose("6", CUSTOMER_PIN))).code == Code.OK
    assert stored_version(platform, phone) == 5
