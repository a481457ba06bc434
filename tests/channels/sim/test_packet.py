"""Secured packets: round trips both ways, and each refusal with its proof-of-receipt status."""

from __future__ import annotations

import pytest

from mkoba.simcard.keys import Direction, derive_sim_key
from mkoba.simcard.packet import (
    SPI1,
    TAR_MENU,
    TAR_MONEY,
    PorRequest,
    counter_limit,
    counter_window,
    open_command,
    open_response,
    packet_max,
    seal_command,
    seal_response,
)
from mkoba.simcard.refusals import (
    ChecksumFailed,
    CipheringError,
    CounterBlocked,
    CounterHigh,
    CounterLow,
    InsufficientSecurity,
    PacketRefused,
    PacketTooLong,
    PorStatus,
    TarUnknown,
    UnknownKeyVersion,
    UnreadableHeader,
)
from tests.channels.sim.sims import (
    CANARY_PIN,
    ICCID,
    MASTER,
    MO_KEY,
    MT_KEY,
    OTHER_ICCID,
    REQUEST,
    forge_command,
)

KEYS = {1: MO_KEY}


def sealed(counter: int = 5, data: bytes = REQUEST) -> bytes:
    return seal_command(MO_KEY, 1, tar=TAR_MONEY, counter=counter, data=data)


def refusal(packet: bytes, last_counter: int = 0) -> PacketRefused:
    with pytest.raises(PacketRefused) as caught:
        open_command(packet, keys=KEYS, last_counter=last_counter)
    return caught.value


def test_a_command_round_trips_from_the_sim() -> None:
    packet = seal_command(MO_KEY, 1, tar=TAR_MENU, counter=7, data=REQUEST, por=PorRequest.ON_ERROR)
    command = open_command(packet, keys=KEYS, last_counter=6)
    assert (command.tar, command.counter, command.key_version) == (TAR_MENU, 7, 1)
    assert command.por is PorRequest.ON_ERROR
    assert command.data == REQUEST


def test_a_push_from_the_server_round_trips_under_the_mt_key() -> None:
    packet = seal_command(MT_KEY, 1, tar=TAR_MENU, counter=3, data=b"menu", direction=Direction.MT)
    command = open_command(packet, keys={1: MT_KEY}, last_counter=0, direction=Direction.MT)
    assert command.data == b"menu"
    # The same bytes are no MO packet: the direction is in the key and the nonce.
    with pytest.raises(ChecksumFailed):
        open_command(packet, keys={1: MT_KEY}, last_counter=0)


def test_a_response_round_trips_to_the_sim() -> None:
    packet = seal_response(
        MT_KEY, 1, tar=TAR_MONEY, counter=9, answers=5, status=PorStatus.OK, data=b"Sent QX1"
    )
    response = open_response(packet, key=MT_KEY, key_version=1, last_counter=8)
    assert (response.status, response.answers, response.counter) == (PorStatus.OK, 5, 9)
    assert response.data == b"Sent QX1"


def test_the_header_is_in_clear_and_the_payload_is_not() -> None:
    packet = sealed(counter=0x0002030405)
    assert packet[2] == 29  # CHL
    assert packet[3:5] == bytes((SPI1, 0x39))
    assert packet[5:7] == b"\x13\x13"  # KIc, KID: key version 1, AES-GCM
    assert packet[7:10] == TAR_MONEY
    assert packet[10:15] == bytes.fromhex("0002030405")
    assert int.from_bytes(packet[:2], "big") == len(packet) - 2
    assert CANARY_PIN not in packet
    assert b"SEND" not in packet


def test_a_tampered_packet_fails_its_checksum() -> None:
    packet = bytearray(sealed())
    packet[-1] ^= 0x01
    error = refusal(bytes(packet))
    assert isinstance(error, ChecksumFailed)
    assert error.status == PorStatus.CHECKSUM_FAILED == 0x01


def test_another_sims_packet_fails_its_checksum() -> None:
    other = derive_sim_key(MASTER, OTHER_ICCID, 1, Direction.MO)
    packet = seal_command(other, 1, tar=TAR_MONEY, counter=5, data=REQUEST)
    assert isinstance(refusal(packet), ChecksumFailed)


def test_a_replayed_or_older_packet_is_counter_low() -> None:
    packet = sealed(counter=5)
    accepted = open_command(packet, keys=KEYS, last_counter=4)
    replay = refusal(packet, last_counter=accepted.counter)
    assert isinstance(replay, CounterLow)
    assert replay.status == 0x02
    assert isinstance(refusal(sealed(counter=3), last_counter=5), CounterLow)


def test_a_counter_beyond_the_window_is_counter_high() -> None:
    assert open_command(sealed(counter=10 + counter_window), keys=KEYS, last_counter=10)
    error = refusal(sealed(counter=11 + counter_window), last_counter=10)
    assert isinstance(error, CounterHigh)
    assert error.status == 0x03


def test_a_counter_past_the_keys_limit_is_counter_blocked() -> None:
    error = refusal(forge_command(counter=counter_limit + 1), last_counter=counter_limit - 1)
    assert isinstance(error, CounterBlocked)
    assert error.status == 0x04
    with pytest.raises(ValueError, match="counter"):
        sealed(counter=counter_limit + 1)


@pytest.mark.parametrize(
    ("padding", "plaintext"), [(3, b"ab"), (2, b"abc\x00\x01"), (1, b"")], ids=str
)
def test_authentic_data_with_bad_padding_is_a_ciphering_error(
    padding: int, plaintext: bytes
) -> None:
    error = refusal(forge_command(padding=padding, plaintext=plaintext))
    assert isinstance(error, CipheringError)
    assert error.status == 0x05


@pytest.mark.parametrize("cut", [1, 20, 40])
def test_a_truncated_packet_is_unreadable(cut: int) -> None:
    error = refusal(sealed()[:-cut])
    assert isinstance(error, UnreadableHeader)
    assert error.status == PorStatus.UNIDENTIFIED_SECURITY_ERROR == 0x06


def test_a_packet_with_bytes_after_its_length_is_unreadable() -> None:
    assert isinstance(refusal(sealed() + b"\x00"), UnreadableHeader)


def test_an_unknown_key_version_is_refused() -> None:
    packet = sealed()
    with pytest.raises(UnknownKeyVersion) as caught:
        open_command(packet, keys={2: MO_KEY}, last_counter=0)
    assert caught.value.status == 0x06


def test_an_over_long_packet_is_insufficient_memory() -> None:
    error = refusal(bytes(packet_max + 1))
    assert isinstance(error, PacketTooLong)
    assert error.status == PorStatus.INSUFFICIENT_MEMORY == 0x07
    with pytest.raises(ValueError, match="at most"):
        sealed(data=bytes(packet_max))


def test_an_unknown_tar_is_refused() -> None:
    error = refusal(forge_command(tar=b"\xb0\x00\x00"))
    assert isinstance(error, TarUnknown)
    assert error.status == PorStatus.TAR_UNKNOWN == 0x09


@pytest.mark.parametrize(
    "fields",
    [
        {"spi": bytes((SPI1 & ~0x04, 0x39))},  # not ciphered
        {"spi": bytes((0x06, 0x39))},  # counter not checked
        {"spi": bytes((0x15, 0x39))},  # a redundancy check, not a checksum
        {"spi": bytes((SPI1, 0x31))},  # PoR without a checksum
        {"spi": bytes((SPI1, 0x3B))},  # PoR bits '11' (reserved)
        {"kic": 0x15, "kid": 0x15},  # KIc: the DES family
        {"kic": 0x13, "kid": 0x23},  # KIc and KID name two keys
    ],
    ids=str,
)
def test_weaker_security_is_refused(fields: dict[str, object]) -> None:
    error = refusal(forge_command(**fields))  # type: ignore[arg-type]
    assert isinstance(error, InsufficientSecurity)
    assert error.status == PorStatus.INSUFFICIENT_SECURITY_LEVEL == 0x0A


def test_a_response_replayed_or_tampered_is_refused_on_the_sim() -> None:
    packet = seal_response(
        MT_KEY, 1, tar=TAR_MONEY, counter=9, answers=5, status=PorStatus.OK, data=b"ok"
    )
    with pytest.raises(CounterLow):
        open_response(packet, key=MT_KEY, key_version=1, last_counter=9)
    forged = bytearray(packet)
    forged[12] = PorStatus.COUNTER_LOW  # the status byte: in clear, yet authenticated
    with pytest.raises(ChecksumFailed):
        open_response(bytes(forged), key=MT_KEY, key_version=1, last_counter=8)


def test_the_pin_is_never_in_a_repr_or_an_error() -> None:
    command = open_command(sealed(), keys=KEYS, last_counter=0)
    assert CANARY_PIN.decode() not in repr(command)
    packets = [
        sealed()[:-1],
        sealed() + b"\x00",
        sealed(counter=1),
        forge_command(padding=200),
        forge_command(tar=b"xyz"),
    ]
    for packet in packets:
        error = refusal(packet, last_counter=1)
        for text in (str(error), repr(error)):
            assert CANARY_PIN.decode() not in text
            assert "SEND" not in text
    assert ICCID not in repr(MO_KEY)


def test_a_refusal_survives_pickling_with_its_status() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(refusal(sealed(), last_counter=5)))
    assert isinstance(error, CounterLow)
    assert error.status == 0x02
