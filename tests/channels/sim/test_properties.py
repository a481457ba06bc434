"""Properties of the secured packet: payloads round-trip, flipped bits and replays are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mkoba.simcard.packet import (
    TAR_MONEY,
    counter_window,
    open_command,
    open_response,
    packet_max,
    seal_command,
    seal_response,
)
from mkoba.simcard.refusals import CounterLow, PacketRefused, PorStatus
from tests.channels.sim.sims import MO_KEY, MT_KEY

KEYS = {1: MO_KEY}
payloads = st.binary(max_size=packet_max - 40)
counters = st.integers(min_value=1, max_value=2**32 - 1)


@given(payloads, counters)
def test_any_payload_round_trips(data: bytes, counter: int) -> None:
    packet = seal_command(MO_KEY, 1, tar=TAR_MONEY, counter=counter, data=data)
    assert open_command(packet, keys=KEYS, last_counter=counter - 1).data == data


@given(st.binary(max_size=200), counters, st.integers(0, 2**40 - 1))
def test_any_answer_round_trips(data: bytes, counter: int, answers: int) -> None:
    packet = seal_response(
        MT_KEY, 1, tar=TAR_MONEY, counter=counter, answers=answers, status=PorStatus.OK, data=data
    )
    response = open_response(packet, key=MT_KEY, key_version=1, last_counter=counter - 1)
    assert (response.answers, response.data) == (answers, data)


@given(st.binary(max_size=120), st.data())
def test_flipping_any_bit_is_refused(data: bytes, draw: st.DataObject) -> None:
    packet = bytearray(seal_command(MO_KEY, 1, tar=TAR_MONEY, counter=50, data=data))
    bit = draw.draw(st.integers(0, 8 * len(packet) - 1))
    packet[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(PacketRefused):
        open_command(bytes(packet), keys=KEYS, last_counter=49)


@given(st.lists(st.integers(1, counter_window), min_size=1, max_size=8), st.data())
def test_a_replayed_packet_is_refused(steps: list[int], draw: st.DataObject) -> None:
    last, packets = 0, []
    for step in steps:
        packet = seal_command(MO_KEY, 1, tar=TAR_MONEY, counter=last + step, data=b"x")
        last = open_command(packet, keys=KEYS, last_counter=last).counter
        packets.append(packet)
    with pytest.raises(CounterLow):
        open_command(draw.draw(st.sampled_from(packets)), keys=KEYS, last_counter=last)
