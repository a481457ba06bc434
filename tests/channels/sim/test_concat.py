"""Secured packets in 8-bit SMS: one message, or concatenated parts joined in any order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mkoba.simcard.concat import (
    COMMAND_PACKET,
    RESPONSE_PACKET,
    BadPart,
    Joined,
    Joiner,
    part_wait_seconds,
    read_part,
    split_packet,
)
from mkoba.simcard.packet import TAR_MONEY, open_command, packet_max, seal_command
from tests.channels.sim.sims import MO_KEY

SIM = "254711000001"


def long_packet() -> bytes:
    return seal_command(MO_KEY, 1, tar=TAR_MONEY, counter=3, data=bytes(range(256)))


def test_a_short_packet_is_one_sms_with_the_command_identifier() -> None:
    packet = seal_command(MO_KEY, 1, tar=TAR_MONEY, counter=1, data=b"BAL")
    (sms,) = split_packet(packet, identifier=COMMAND_PACKET, reference=9)
    assert sms == b"\x02\x70\x00" + packet
    assert Joiner().add(SIM, sms, now=0.0) == Joined(COMMAND_PACKET, packet)


def test_a_response_is_marked_0x71() -> None:
    (sms,) = split_packet(b"\x00\x01\x1a", identifier=RESPONSE_PACKET, reference=0)
    assert sms[:3] == b"\x02\x71\x00"


def test_a_long_packet_is_split_with_the_identifier_in_the_first_part_only() -> None:
    packet = long_packet()
    parts = split_packet(packet, identifier=COMMAND_PACKET, reference=0x2A)
    assert len(parts) == 3
    assert all(len(part) <= 140 for part in parts)
    assert parts[0][:8] == bytes.fromhex("07 00 03 2a 03 01 70 00")
    assert parts[1][:6] == bytes.fromhex("05 00 03 2a 03 02")
    assert parts[2][:6] == bytes.fromhex("05 00 03 2a 03 03")
    assert len(parts[0]) == 140


def test_parts_join_out_of_order_and_duplicates_are_ignored() -> None:
    packet = long_packet()
    first, second, third = split_packet(packet, identifier=COMMAND_PACKET, reference=7)
    joiner = Joiner()
    assert joiner.add(SIM, third, now=0.0) is None
    assert joiner.add(SIM, first, now=1.0) is None
    assert joiner.add(SIM, third, now=2.0) is None
    joined = joiner.add(SIM, second, now=3.0)
    assert joined == Joined(COMMAND_PACKET, packet)
    assert open_command(joined.packet, keys={1: MO_KEY}, last_counter=0).counter == 3
    assert joiner.waiting() == 0


def test_a_missing_part_waits_and_is_then_dropped() -> None:
    first, _, third = split_packet(long_packet(), identifier=COMMAND_PACKET, reference=7)
    joiner = Joiner()
    assert joiner.add(SIM, first, now=0.0) is None
    assert joiner.add(SIM, third, now=1.0) is None
    assert joiner.waiting() == 1
    assert joiner.expire(now=part_wait_seconds + 1.0) == 1
    assert joiner.waiting() == 0


def test_two_senders_with_one_reference_do_not_mix() -> None:
    first, second, third = split_packet(long_packet(), identifier=COMMAND_PACKET, reference=7)
    joiner = Joiner()
    joiner.add(SIM, first, now=0.0)
    joiner.add("254711000009", second, now=0.0)
    assert joiner.add(SIM, third, now=0.0) is None
    assert joiner.waiting() == 2


def test_a_part_beyond_its_count_is_refused() -> None:
    part = bytes.fromhex("05 00 03 07 03 04") + b"more"
    with pytest.raises(BadPart, match="outside its count"):
        Joiner().add(SIM, part, now=0.0)


def test_a_part_that_contradicts_its_message_is_refused() -> None:
    first, second, _ = split_packet(long_packet(), identifier=COMMAND_PACKET, reference=7)
    joiner = Joiner()
    joiner.add(SIM, first, now=0.0)
    with pytest.raises(BadPart, match="count"):
        joiner.add(SIM, bytes.fromhex("05 00 03 07 04 02") + second[6:], now=0.0)
    joiner.add(SIM, first, now=0.0)
    with pytest.raises(BadPart, match="same number"):
        joiner.add(SIM, first[:-1] + b"\xff", now=0.0)
    assert joiner.waiting() == 0


@pytest.mark.parametrize(
    "sms",
    [
        b"",
        b"\x05\x00\x03",  # header longer than the SMS
        b"\x02\x00\x05",  # element longer than the header
        b"\x00hello",  # no header: not a secured packet
        bytes.fromhex("05 00 03 07 03 01") + b"x",  # first part without 0x70
        bytes.fromhex("07 00 03 07 03 02 70 00") + b"x",  # 0x70 on a later part
        b"\x03\x70\x01\x00",  # the identifier carries no data
        b"\x02\x70\x00" + bytes(138),  # over 140 octets
    ],
    ids=lambda sms: sms[:8].hex(),
)
def test_an_sms_that_is_no_part_is_refused(sms: bytes) -> None:
    with pytest.raises(BadPart):
        read_part(sms)


@given(st.binary(min_size=1, max_size=packet_max), st.randoms(use_true_random=False))
def test_any_packet_splits_and_joins_in_any_order(packet: bytes, order: object) -> None:
    parts = split_packet(packet, identifier=COMMAND_PACKET, reference=200)
    assert all(len(part) <= 140 for part in parts)
    order.shuffle(parts)  # type: ignore[attr-defined]
    joiner = Joiner()
    results = [joiner.add(SIM, part, now=0.0) for part in parts]
    assert results[:-1] == [None] * (len(parts) - 1)
    assert results[-1] == Joined(COMMAND_PACKET, packet)


def test_a_first_part_may_carry_its_identifier_before_the_concatenation() -> None:
    first, second, third = split_packet(long_packet(), identifier=COMMAND_PACKET, reference=5)
    reordered = bytes.fromhex("07 70 00 00 03 05 03 01") + first[8:]
    joiner = Joiner()
    for part in (reordered, second):
        assert joiner.add(SIM, part, now=0.0) is None
    assert joiner.add(SIM, third, now=0.0) == Joined(COMMAND_PACKET, long_packet())
