"""SIM data over the SMSC: binary SMS reach the SIM handler, its parts go back as SIM data.

A platform runs in process, bound to the SMSC peer, with a test handler in the
place the SIM server takes (``SmsChannel.sim_data``). The peer plays the phone:
it sends binary deliver_sm as a SIM applet would and shows, byte for byte,
the submit_sm that reach the phone.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from mkoba.app import Platform
from mkoba.channels.sms import SmsChannel, simdata
from mkoba.channels.sms.esme import Inbound
from tests.channels.sms.peer import Peer
from tests.conftest import MakePlatform

pytestmark = pytest.mark.anyio

SHORT_CODE = "334455"
NOT_REGISTERED = "This number is not registered for M-PESA."


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """The test and its platform on one asyncio loop."""
    return "asyncio"


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform, peer: Peer) -> Platform:
    """A platform whose SMS channel is bound to the peer."""
    platform = await make_platform("simdata", smpp=peer.url)
    assert platform.sms is not None and platform.sms.esme is not None
    assert await platform.sms.esme.wait_bound(10)
    return platform


@pytest.fixture
async def channel(platform: Platform, smsc: Peer) -> AsyncIterator[SmsChannel]:
    """The platform's SMS channel, without a SIM data handler after the test."""
    assert platform.sms is not None
    yield platform.sms
    platform.sms.sim_data = None


class Sim:
    """A SIM data handler that records what it got and answers ``parts`` (or raises)."""

    def __init__(self, parts: list[bytes], error: Exception | None = None) -> None:
        self.parts = parts
        self.error = error
        self.calls: list[tuple[str, str, bytes]] = []

    async def __call__(self, source: str, destination: str, user_data: bytes) -> list[bytes]:
        self.calls.append((source, destination, user_data))
        if self.error is not None:
            raise self.error
        return self.parts


async def _wait(check: Callable[[], Any], timeout_s: float = 10.0) -> Any:
    """Poll ``check`` (off the loop: the platform runs on it) until it is truthy."""
    for _ in range(int(timeout_s / 0.05)):
        value = await asyncio.to_thread(check)
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("never got there")


def _phone(n: int) -> str:
    return str(254712300000 + n)


def _command(body_octets: int = 60) -> bytes:
    """One SMS holding a (random) command packet: UDH with IEI 0x70, then the packet."""
    return bytes((2, 0x70, 0)) + os.urandom(body_octets)


async def test_sim_data_reaches_the_handler_and_its_parts_go_back_as_sim_data(
    channel: SmsChannel, smsc: Peer
) -> None:
    phone = _phone(1)
    first = bytes((7, 0x00, 3, 0x2A, 2, 1, 0x71, 0)) + os.urandom(132)
    second = bytes((5, 0x00, 3, 0x2A, 2, 2)) + os.urandom(20)
    sim = channel.sim_data = Sim([first, second])
    request = _command()
    smsc.mo_binary(phone, SHORT_CODE, request)
    sent = await _wait(lambda: len(smsc.messages(phone)) >= 2 and smsc.messages(phone))
    assert sim.calls == [(phone, SHORT_CODE, request)]
    assert sorted(m["hex"] for m in sent) == sorted([first.hex(), second.hex()])
    for message in sent:
        assert message["source"] == SHORT_CODE and message["dest"] == phone
        assert message["protocol_id"] == 0x7F and message["data_coding"] == 0xF6
        assert message["esm_class"] & 0x40
    await asyncio.sleep(0.5)
    assert len(smsc.messages(phone)) == 2  # no text reply besides


async def test_a_command_packet_in_8_bit_data_is_sim_data_without_the_pid(
    channel: SmsChannel, smsc: Peer
) -> None:
    phone = _phone(2)
    answer = bytes((2, 0x71, 0)) + os.urandom(40)
    sim = channel.sim_data = Sim([answer])
    request = _command()
    smsc.mo_binary(phone, SHORT_CODE, request, protocol_id=0, data_coding=0x04)
    (sent,) = await _wait(lambda: smsc.messages(phone))
    assert sim.calls == [(phone, SHORT_CODE, request)]
    assert sent["hex"] == answer.hex() and sent["protocol_id"] == 0x7F


async def test_a_text_still_goes_to_the_inbox(channel: SmsChannel, smsc: Peer) -> None:
    phone = _phone(3)
    sim = channel.sim_data = Sim([b"\x02\x71\x00never"])
    smsc.mo(phone, SHORT_CODE, "hello")
    (reply,) = await _wait(lambda: smsc.messages(phone))
    assert reply["text"].startswith(NOT_REGISTERED)
    assert reply["protocol_id"] == 0 and reply["source"] == "MPESA"
    assert sim.calls == []


async def test_sim_data_without_a_handler_is_dropped_and_nothing_is_sent(
    channel: SmsChannel, smsc: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    phone = _phone(4)
    request = _command()
    with caplog.at_level(logging.INFO, logger="mkoba"):
        smsc.mo_binary(phone, SHORT_CODE, request)
        await _wait(lambda: "SIM data message dropped" in caplog.text)
        await asyncio.sleep(1.0)
    assert smsc.messages(phone) == []
    assert smsc.stats()["mo_acks"] == 1  # taken (answered), then dropped
    assert request.hex() not in caplog.text and repr(request) not in caplog.text


async def test_a_failing_handler_leaves_the_channel_working(
    channel: SmsChannel, smsc: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    phone, other = _phone(5), _phone(6)
    request = _command()
    sim = channel.sim_data = Sim([], ValueError(f"cannot open {request.hex()}"))
    with caplog.at_level(logging.INFO, logger="mkoba"):
        for _ in range(8):  # more than the channel has workers
            smsc.mo_binary(phone, SHORT_CODE, request)
        await _wait(lambda: len(sim.calls) == 8)
        smsc.mo(other, SHORT_CODE, "hello")
        (reply,) = await _wait(lambda: smsc.messages(other))
    assert reply["text"].startswith(NOT_REGISTERED)
    assert smsc.messages(phone) == []
    assert "SIM data handler failed: ValueError" in caplog.text
    assert request.hex() not in caplog.text


def _inbound(short_message: bytes, *, pid: int = 0, coding: int = 0, esm: int = 0) -> Inbound:
    return Inbound(_phone(9), SHORT_CODE, esm, coding, short_message, "", 0, pid)


# 0x24: 8-bit but compressed (TS 23.038); 0xF2: class 2 in the GSM 7-bit alphabet.
_OCTETS = [(0xF6, True), (0xF5, True), (0x04, True), (0x02, True), (0x16, True)]
_NOT_OCTETS = [(0x00, False), (0x08, False), (0x03, False), (0xF2, False), (0x24, False)]


@pytest.mark.parametrize(("coding", "expected"), [*_OCTETS, *_NOT_OCTETS])
def test_command_packets_are_sim_data_only_in_8_bit_codings(coding: int, expected: bool) -> None:
    packet = bytes((7, 0x00, 3, 1, 2, 1, 0x70, 0)) + b"packet"
    assert simdata.is_sim_data(_inbound(packet, coding=coding, esm=0x40)) is expected
    assert simdata.is_sim_data(_inbound(packet, pid=0x7F, coding=coding)) is True


def test_other_binary_messages_are_not_sim_data() -> None:
    concatenated = bytes((5, 0x00, 3, 1, 2, 2)) + b"second part"
    assert not simdata.is_sim_data(_inbound(concatenated, coding=0xF6, esm=0x40))
    response = bytes((2, 0x71, 0)) + b"proof of receipt"
    assert not simdata.is_sim_data(_inbound(response, coding=0xF6, esm=0x40))
    truncated = bytes((9, 0x70, 0))
    assert not simdata.is_sim_data(_inbound(truncated, coding=0xF6, esm=0x40))
    no_udhi = bytes((2, 0x70, 0)) + b"packet"
    assert not simdata.is_sim_data(_inbound(no_udhi, coding=0xF6))
