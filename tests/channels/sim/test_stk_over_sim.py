"""Daraja's STK push to a line with a SIM card reaches the SIM as a secured push.

A business pushes; the SIM gets the prompt sealed for it (SIM data SMS from the
SMS sender), shows it, and answers with the PIN typed on the SIM, sealed, to the
short code; the payment is made and the business's callback follows as for any
STK prompt. Cancel is answered 1032. A SIM cannot answer another number's
prompt, and a line with no SIM card gets no push (its prompt still waits on the
handset routes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.simcard.concat import COMMAND_PACKET, RESPONSE_PACKET, Joiner, split_packet
from mkoba.simcard.prompt import PushedPrompt
from tests.channels.daraja.harness import TEST_MSISDN, Served, arrived, running, stk_body
from tests.channels.sim.sim import Sim, new_iccid
from tests.compat.listener import Listener

pytestmark = pytest.mark.anyio
SHORT_CODE = "334"
PIN = "1357"  # the sandbox customer's


@pytest.fixture
def listener() -> Iterator[Listener]:
    """The business's callback receiver."""
    running = Listener()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
async def served(store_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    """The Daraja sandbox, its simulated customer silent: the SIM's holder answers."""
    async with running(store_url, tmp_path, daraja_auto_answer="off") as it:
        yield it


class Handset:
    """The sandbox customer's phone with its SIM, on the in-memory SMSC."""

    def __init__(self, platform: Platform, msisdn: str, sim: Sim) -> None:
        self.platform, self.msisdn, self.sim = platform, msisdn, sim
        self.seen = 0
        self.joiner = Joiner()

    def arrived(self) -> list[tuple[int, bytes]]:
        """Whole packets that reached the SIM since last asked: (identifier, packet)."""
        packets = []
        for sms in self.platform.smsc.inbox(self.msisdn, self.seen):
            self.seen = sms.id
            if sms.data:
                joined = self.joiner.add(sms.sender, sms.data, 0.0)
                if joined is not None:
                    packets.append((joined.identifier, joined.packet))
        return packets

    async def prompt(self) -> PushedPrompt:
        """The prompt pushed to the SIM, opened by it."""
        for _ in range(200):
            for identifier, packet in self.arrived():
                assert identifier == COMMAND_PACKET
                pushed = self.sim.take_push(packet)
                assert pushed.prompt is not None, pushed
                return pushed.prompt
            await _tick()
        raise AssertionError("no prompt reached the SIM")

    async def send(self, packet: bytes) -> bytes:
        """``packet`` to the short code as SIM data; the server's answer packet."""
        sim = self.platform.sim
        assert sim is not None
        answer: list[bytes] = []
        for part in split_packet(packet, identifier=COMMAND_PACKET, reference=7):
            answer += await sim.sim_data(self.msisdn, SHORT_CODE, part)
        joiner = Joiner()
        for part in answer:
            joined = joiner.add(SHORT_CODE, part, 0.0)
            if joined is not None:
                assert joined.identifier == RESPONSE_PACKET
                return joined.packet
        raise AssertionError("the server answered nothing")


async def _tick() -> None:
    await asyncio.sleep(0.02)


async def _handset(platform: Platform, msisdn: str) -> Handset:
    assert platform.sim is not None, "the SIM channel runs where the SMS channel does"
    iccid = new_iccid()
    await platform.sim.cards.provision(iccid, msisdn)
    return Handset(platform, msisdn, Sim(iccid, platform.settings.keys_dir))


async def test_a_push_reaches_the_sim_and_its_pin_pays(served: Served, listener: Listener) -> None:
    phone = await _handset(served.platform, TEST_MSISDN)
    before = await served.balance()
    answer = await served.post("/mpesa/stkpush/v1/processrequest", stk_body(listener, "/s", 25))
    assert answer.status_code == 200, answer.text
    checkout = answer.json()["CheckoutRequestID"]

    prompt = await phone.prompt()
    assert prompt.checkout_id == checkout and "25.00" in prompt.text
    assert 0 < prompt.expires_in_s <= 120
    answered = phone.sim.answer_prompt(checkout, PIN)
    paid = phone.sim.answer(await phone.send(answered))
    assert paid.code == Code.OK and paid.receipt, paid
    (callback,) = await arrived(listener, "/s")
    stk = callback["Body"]["stkCallback"]
    assert (stk["CheckoutRequestID"], stk["ResultCode"]) == (checkout, 0)
    items = {item["Name"]: item.get("Value") for item in stk["CallbackMetadata"]["Item"]}
    assert items["MpesaReceiptNumber"] == paid.receipt
    assert await served.balance() == before - 25_00
    # The same answer again (a replayed packet) is refused: counter low, paid once.
    assert phone.sim.open(await phone.send(answered)).status.name == "COUNTER_LOW"
    assert await served.balance() == before - 25_00


async def test_cancel_on_the_sim_is_1032(served: Served, listener: Listener) -> None:
    phone = await _handset(served.platform, TEST_MSISDN)
    before = await served.balance()
    answer = await served.post("/mpesa/stkpush/v1/processrequest", stk_body(listener, "/c", 30))
    checkout = answer.json()["CheckoutRequestID"]
    prompt = await phone.prompt()
    cancelled = phone.sim.answer(
        await phone.send(phone.sim.answer_prompt(prompt.checkout_id, None))
    )
    assert cancelled.code == "cancelled", cancelled
    (callback,) = await arrived(listener, "/c")
    stk = callback["Body"]["stkCallback"]
    assert (stk["CheckoutRequestID"], stk["ResultCode"]) == (checkout, 1032)
    assert await served.balance() == before


async def test_a_sim_cannot_answer_another_numbers_prompt(
    served: Served, listener: Listener
) -> None:
    holder = await _handset(served.platform, TEST_MSISDN)
    stranger = await _handset(served.platform, "254712000009")
    before = await served.balance()
    answer = await served.post("/mpesa/stkpush/v1/processrequest", stk_body(listener, "/x", 40))
    checkout = answer.json()["CheckoutRequestID"]
    await holder.prompt()
    refused = stranger.sim.answer(await stranger.send(stranger.sim.answer_prompt(checkout, PIN)))
    assert refused.code == "unknown_prompt", refused
    assert stranger.arrived() == []  # the stranger's SIM was pushed nothing
    prompt = await served.daraja.prompts.find(checkout)
    assert prompt is not None and prompt.state == "pending"
    assert await served.balance() == before


async def test_a_line_without_a_sim_card_gets_no_push(served: Served, listener: Listener) -> None:
    answer = await served.post("/mpesa/stkpush/v1/processrequest", stk_body(listener, "/n", 10))
    checkout = answer.json()["CheckoutRequestID"]
    await _tick()
    assert not [sms for sms in served.platform.smsc.inbox(TEST_MSISDN) if sms.data]
    pending = await served.client.get(
        f"/api/v1/stk/{TEST_MSISDN}/pending", headers=served.handset(TEST_MSISDN)
    )
    assert [p["checkout_id"] for p in pending.json()["prompts"]] == [checkout]
