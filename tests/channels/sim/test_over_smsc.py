"""The whole path: SIM -> SMSC -> mkoba -> SMSC -> SIM, through the real SMPP peer.

The platform runs in process, bound to the npm ``smpp`` server the SMS channel is
tested against; the peer plays the phone. The test SIM seals what the applet
sends, the peer delivers it as SIM data download (8-bit, TP-PID 0x7F, several
parts when it does not fit one SMS), and what reaches the phone is joined and
opened by the SIM: the answer it shows, and the money in the books. A tampered
packet gets the refusal's proof of receipt, a replay pays nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.simcard.applet import decode_answer
from mkoba.simcard.concat import COMMAND_PACKET, RESPONSE_PACKET, Joiner, split_packet
from mkoba.simcard.refusals import PorStatus
from tests.channels.sim.sim import Sim, new_iccid
from tests.channels.sms.peer import Peer
from tests.conftest import MakePlatform
from tests.processor.test_pins import store_dump
from tests.products.test_payments import biller
from tests.products.world import CUSTOMER_PIN, KSH, World, wallet

pytestmark = pytest.mark.anyio

SHORT_CODE = "334"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """The test and its platform on one asyncio loop."""
    return "asyncio"


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform, peer: Peer) -> Platform:
    """A platform whose SMS channel is bound to the peer."""
    platform = await make_platform("sim_smsc", smpp=peer.url)
    assert platform.sms is not None and platform.sms.esme is not None
    assert await platform.sms.esme.wait_bound(10)
    return platform


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    return await World(platform).setup()


async def _wait(check: Callable[[], Any], timeout_s: float = 10.0) -> Any:
    for _ in range(int(timeout_s / 0.05)):
        value = await asyncio.to_thread(check)
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("nothing reached the phone")


class Phone:
    """A handset with a SIM, on the peer: sends SIM data, joins what comes back."""

    def __init__(self, peer: Peer, msisdn: str, sim: Sim) -> None:
        self.peer = peer
        self.msisdn = msisdn
        self.sim = sim
        self.seen = 0
        self.reference = 0
        self.texts: list[str] = []

    def send(self, packet: bytes) -> None:
        self.reference = (self.reference + 1) % 256
        for part in split_packet(packet, identifier=COMMAND_PACKET, reference=self.reference):
            self.peer.mo_binary(self.msisdn, SHORT_CODE, part)

    async def receive(self) -> bytes:
        """The next response packet that reaches the phone, joined from its SMS."""
        joiner = Joiner()
        while True:
            messages = await _wait(lambda: self.peer.messages(self.msisdn)[self.seen :])
            for message in messages:
                self.seen += 1
                if message["protocol_id"] != 0x7F:
                    self.texts.append(message["text"])  # a text SMS (a confirmation)
                    continue
                assert message["data_coding"] == 0xF6, message
                assert message["esm_class"] & 0x40, message  # UDHI
                assert message["source"] == SHORT_CODE
                joined = joiner.add(SHORT_CODE, bytes.fromhex(message["hex"]), 0.0)
                if joined is not None:
                    assert joined.identifier == RESPONSE_PACKET
                    return joined.packet


async def phone_for(platform: Platform, peer: Peer, msisdn: str | None) -> Phone:
    assert msisdn is not None and platform.sim is not None
    iccid = new_iccid()
    await platform.sim.cards.provision(iccid, msisdn)
    return Phone(peer, msisdn, Sim(iccid, platform.settings.keys_dir))


async def test_balance_and_send_money_from_the_sim_through_the_smsc(
    platform: Platform, world: World, peer: Peer
) -> None:
    payer, friend = await world.customer(1_000), await world.customer()
    phone = await phone_for(platform, peer, payer.msisdn)

    phone.send(phone.sim.request("balance", CUSTOMER_PIN))
    shown = decode_answer(phone.sim.open(await phone.receive()).data)
    assert shown.code == Code.OK and "1,000.00" in shown.message, shown

    packet = phone.sim.request("send_money", CUSTOMER_PIN, to=str(friend.msisdn), amount="150")
    phone.send(packet)
    response = phone.sim.open(await phone.receive())
    assert response.status is PorStatus.OK
    sent = decode_answer(response.data)
    assert sent.code == Code.OK and sent.receipt, sent
    _, friend_has = await world.balances(wallet(payer), wallet(friend))
    assert friend_has == 150 * KSH
    world.check_books()

    # The same packet again (the SMSC redelivered it): refused, nothing paid twice.
    phone.send(packet)
    again = phone.sim.open(await phone.receive())
    assert again.status is PorStatus.COUNTER_LOW
    assert (await world.balances(wallet(friend)))[0] == 150 * KSH


async def test_a_tampered_packet_through_the_smsc_gets_its_proof_of_receipt(
    platform: Platform, world: World, peer: Peer
) -> None:
    payer, friend = await world.customer(500), await world.customer()
    phone = await phone_for(platform, peer, payer.msisdn)
    sealed = phone.sim.request("send_money", CUSTOMER_PIN, to=str(friend.msisdn), amount="100")
    packet = bytearray(sealed)
    packet[-1] ^= 0x01
    phone.send(bytes(packet))
    refused = phone.sim.open(await phone.receive())
    assert refused.status is PorStatus.CHECKSUM_FAILED
    assert await world.balances(wallet(payer), wallet(friend)) == [500 * KSH, 0]


async def test_withdraw_and_pay_bill_from_the_sim_through_the_smsc(
    platform: Platform, world: World, peer: Peer
) -> None:
    customer = await world.customer(5_000)
    _, (store,) = await world.agent(100_000)
    org = await biller(world, "business_bears")
    phone = await phone_for(platform, peer, customer.msisdn)
    agent, outlet = (store.number or "").split("/")

    phone.send(
        phone.sim.request("withdraw", CUSTOMER_PIN, agent=agent, store=outlet, amount="1000")
    )
    withdrawn = decode_answer(phone.sim.open(await phone.receive()).data)
    assert withdrawn.code == Code.OK and withdrawn.receipt, withdrawn

    paid = phone.sim.request(
        "pay_bill", CUSTOMER_PIN, paybill=str(org.number), account="ACC-77", amount="250"
    )
    phone.send(paid)
    bill = decode_answer(phone.sim.open(await phone.receive()).data)
    assert bill.code == Code.OK and bill.receipt, bill
    assert (await world.receipt(bill.receipt))["amount"] == 250 * KSH
    assert (await world.receipt(withdrawn.receipt))["amount"] == 1_000 * KSH
    world.check_books()


async def test_a_canary_pin_is_never_in_clear_at_the_smsc_in_logs_or_the_store(
    platform: Platform, world: World, peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "862047"
    payer, friend = await world.customer(1_000, pin=canary), await world.customer()
    assert payer.msisdn and friend.msisdn
    phone = await phone_for(platform, peer, payer.msisdn)
    caplog.set_level(logging.DEBUG)
    sent: list[bytes] = []
    for packet in (
        phone.sim.request("send_money", canary, to=str(friend.msisdn), amount="120"),
        phone.sim.request("balance", canary[::-1]),  # a wrong PIN: refused, never shown
    ):
        sent += split_packet(packet, identifier=COMMAND_PACKET, reference=1)
        phone.send(packet)
        phone.sim.open(await phone.receive())
    assert (await world.balances(wallet(friend)))[0] == 120 * KSH  # paid once, with the canary
    clear = {canary.encode(), canary[::-1].encode()}
    at_the_smsc = [bytes.fromhex(m["hex"]) for m in peer.messages()] + sent
    at_the_smsc += [str(m.get("text", "")).encode() for m in peer.messages()]
    assert not [data for data in at_the_smsc for pin in clear if pin in data]
    stored = await store_dump(platform.settings.db)
    assert canary not in stored and canary[::-1] not in stored
    assert canary not in caplog.text and canary[::-1] not in caplog.text
