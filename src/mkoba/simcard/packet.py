"""The secured command and response packets: TS 102 225's fields, AES-GCM's cryptography.

A command packet (the SIM's request, MO; or a push from the server, MT) is::

    CPL(2) CHL(1) SPI(2) KIc(1) KID(1) TAR(3) CNTR(5) PCNTR(1) | CC(16) | secured data

and a response packet (the proof of receipt, PoR, MT) is::

    RPL(2) RHL(1) TAR(3) CNTR(5) PCNTR(1) status(1) | CC(16) | secured data

as TS 31.115 carries them after the 0x70 / 0x71 identifier of the SMS's user
data header (``concat.py`` adds it). The header up to PCNTR (or the status) is
in clear and is the associated data of AES-256-GCM; CC, where TS 102 225 puts
its cryptographic checksum, holds the 16-byte GCM tag; the secured data is the
ciphertext of the payload and PCNTR zero bytes of padding (which hides the exact
length of, say, an amount).

The nonce is ``direction(1) | key version(1) | 00 00 | CNTR as 8 bytes``. Each
direction has its own key (``keys.py``) and its own counter, strictly
increasing: the receiver keeps the last counter it accepted and takes only a
higher one (SPI counter mode '10'), at most ``counter_window`` ahead. A response
carries the *server's* next counter, never the command's: a refused command's
counter was chosen by whoever sent it, and sealing under it could repeat a
nonce. The response names the command it answers in its first five secured
bytes instead.

The tag is checked before the counter: a forged packet learns nothing of the
counter state, and a replay (authentic, old counter) is told "counter low".
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mkoba.parties import SecretKey
from mkoba.simcard.keys import Direction, check_key_version
from mkoba.simcard.refusals import (
    ChecksumFailed,
    CipheringError,
    CounterBlocked,
    CounterHigh,
    CounterLow,
    InsufficientSecurity,
    PacketTooLong,
    PorStatus,
    TarUnknown,
    UnknownKeyVersion,
    UnreadableHeader,
)

# Toolkit application references: which service of ours a packet is for.
TAR_MONEY = bytes.fromhex("4d4b01")  # "MK" 01: transactions (send money, pay bill, ...)
TAR_MENU = bytes.fromhex("4d4b02")  # "MK" 02: over-the-air menus
TAR_PROMPT = bytes.fromhex("4d4b03")  # "MK" 03: STK payment prompts pushed to the SIM
KNOWN_TARS = frozenset({TAR_MONEY, TAR_MENU, TAR_PROMPT})

tag_bytes = 16
counter_bytes = 5
command_header_length = 2 + 1 + 1 + 3 + counter_bytes + 1 + tag_bytes  # CHL: SPI .. CC
response_header_length = 3 + counter_bytes + 1 + 1 + tag_bytes  # RHL: TAR .. CC
answered_bytes = counter_bytes  # a response's first secured bytes: the command's CNTR
# A counter may run ahead of the last accepted by this much (lost SMS), no further:
# a larger jump is an attempt to desynchronise the SIM and the server.
counter_window = 1000
# NIST SP 800-38D's bound on one GCM key; the SIM moves to a new key version first.
counter_limit = 2**32 - 1
# The longest packet either side takes (CPL/RPL included): eight concatenated SMS.
packet_max = 1024
pad_block = 8

# SPI byte 1: integrity CC (b1-2 '10'), ciphered (b3), counter mode '10' (b4-5):
# process only if CNTR is above the stored one. Nothing weaker is accepted.
SPI1 = 0x02 | 0x04 | 0x10
# SPI byte 2 besides its PoR bits: PoR with a CC (b3-4 '10'), ciphered (b5), sent
# as its own SMS (b6).
_spi2_fixed = 0x08 | 0x10 | 0x20
# KIc / KID low nibble: algorithm '11' (known to both ends), mode '00': AES-256-GCM.
# The high nibble is the key version; KIc and KID name the same AEAD key.
_algorithm_gcm = 0x03
_statuses = frozenset(int(status) for status in PorStatus)


class PorRequest(enum.IntEnum):
    """SPI byte 2, b1-2: whether the sender wants a proof of receipt."""

    NONE = 0b00
    ALWAYS = 0b01
    ON_ERROR = 0b10


@dataclass(frozen=True, slots=True)
class Command:
    """An opened command packet. ``data`` may hold a PIN: it is never in the repr."""

    tar: bytes
    counter: int
    key_version: int
    por: PorRequest
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Response:
    """An opened response packet (PoR): the status and the answer, for ``answers``."""

    tar: bytes
    counter: int
    status: PorStatus
    answers: int
    data: bytes = field(repr=False)


def nonce(direction: Direction, key_version: int, counter: int) -> bytes:
    """The 12-byte GCM nonce: unique while each direction's counter only rises."""
    return bytes((direction, key_version, 0, 0)) + counter.to_bytes(8, "big")


def seal_command(
    key: SecretKey,
    key_version: int,
    *,
    tar: bytes,
    counter: int,
    data: bytes,
    por: PorRequest = PorRequest.ALWAYS,
    direction: Direction = Direction.MO,
) -> bytes:
    """The secured command packet carrying ``data`` (from CPL on).

    ``counter`` must be above every counter this key and direction sealed before;
    the caller stores it first, so a crash cannot make it seal the same one twice.
    """
    check_key_version(key_version)
    _check_counter(counter)
    _check_tar(tar)
    padding = _padding(len(data))
    length = 1 + command_header_length + len(data) + padding
    if 2 + length > packet_max:
        raise ValueError(f"a packet is at most {packet_max} bytes")
    kic = key_version << 4 | _algorithm_gcm
    header = (
        length.to_bytes(2, "big")
        + bytes((command_header_length, SPI1, _spi2_fixed | por, kic, kic))
        + tar
        + counter.to_bytes(counter_bytes, "big")
        + bytes((padding,))
    )
    sealed = AESGCM(key.reveal()).encrypt(
        nonce(direction, key_version, counter), data + bytes(padding), header
    )
    return header + sealed[-tag_bytes:] + sealed[:-tag_bytes]


def open_command(
    packet: bytes,
    *,
    keys: Mapping[int, SecretKey],
    last_counter: int,
    tars: frozenset[bytes] = KNOWN_TARS,
    direction: Direction = Direction.MO,
) -> Command:
    """The command in ``packet``, or the ``PacketRefused`` that says why not.

    ``keys`` are the sender's keys for ``direction`` by key version (those it may
    still use); ``last_counter`` the highest counter accepted from it so far,
    which the caller replaces with the returned one, atomically with acting on it.
    """
    _check_length(packet, command_header_length)
    header_end = 3 + command_header_length - tag_bytes
    header = packet[:header_end]
    spi1, spi2, kic, kid = header[3:7]
    tar = header[7:10]
    counter = int.from_bytes(header[10:15], "big")
    padding = header[15]
    if tar not in tars:
        raise TarUnknown
    if spi1 != SPI1 or spi2 & ~0x03 != _spi2_fixed or spi2 & 0x03 == 0x03:
        raise InsufficientSecurity
    if kic & 0x0F != _algorithm_gcm or kid != kic:
        raise InsufficientSecurity
    key_version = kic >> 4
    key = keys.get(key_version)
    if key is None:
        raise UnknownKeyVersion
    plain = _decrypt(key, nonce(direction, key_version, counter), header, packet[header_end:])
    _check_counter_accepted(counter, last_counter)
    return Command(tar, counter, key_version, PorRequest(spi2 & 0x03), _unpad(plain, padding))


def seal_response(
    key: SecretKey,
    key_version: int,
    *,
    tar: bytes,
    counter: int,
    answers: int,
    status: PorStatus,
    data: bytes = b"",
    direction: Direction = Direction.MT,
) -> bytes:
    """The proof of receipt for command ``answers``, sealed under the sender's ``counter``.

    The server's (MT) answers the SIM's requests; the SIM's (MO, under its own key
    and counter) answers what the server pushes: a chunk of a menu over the air.
    """
    check_key_version(key_version)
    _check_counter(counter)
    _check_tar(tar)
    if not 0 <= answers < 2 ** (8 * counter_bytes):
        raise ValueError("the answered counter does not fit CNTR")
    body = answers.to_bytes(answered_bytes, "big") + data
    padding = _padding(len(body))
    length = 1 + response_header_length + len(body) + padding
    if 2 + length > packet_max:
        raise ValueError(f"a packet is at most {packet_max} bytes")
    header = (
        length.to_bytes(2, "big")
        + bytes((response_header_length,))
        + tar
        + counter.to_bytes(counter_bytes, "big")
        + bytes((padding, status))
    )
    sealed = AESGCM(key.reveal()).encrypt(
        nonce(direction, key_version, counter), body + bytes(padding), header
    )
    return header + sealed[-tag_bytes:] + sealed[:-tag_bytes]


def open_response(
    packet: bytes,
    *,
    key: SecretKey,
    key_version: int,
    last_counter: int,
    tars: frozenset[bytes] = KNOWN_TARS,
    direction: Direction = Direction.MT,
) -> Response:
    """The response in ``packet``, or the ``PacketRefused`` why not.

    MT (the default) on the SIM's side; MO on the server's, for the SIM's proof of
    receipt of a pushed chunk (``key`` and ``last_counter`` then the SIM's MO ones).
    """
    _check_length(packet, response_header_length)
    header_end = 3 + response_header_length - tag_bytes
    header = packet[:header_end]
    tar = header[3:6]
    counter = int.from_bytes(header[6:11], "big")
    padding, status = header[11], header[12]
    if tar not in tars:
        raise TarUnknown
    if status not in _statuses:
        raise UnreadableHeader
    plain = _decrypt(key, nonce(direction, key_version, counter), header, packet[header_end:])
    _check_counter_accepted(counter, last_counter)
    body = _unpad(plain, padding)
    if len(body) < answered_bytes:
        raise CipheringError
    answers = int.from_bytes(body[:answered_bytes], "big")
    return Response(tar, counter, PorStatus(status), answers, body[answered_bytes:])


def _check_length(packet: bytes, header_length: int) -> None:
    if len(packet) > packet_max:
        raise PacketTooLong
    if len(packet) < 3 + header_length:
        raise UnreadableHeader
    if int.from_bytes(packet[:2], "big") != len(packet) - 2 or packet[2] != header_length:
        raise UnreadableHeader


def _decrypt(key: SecretKey, iv: bytes, header: bytes, rest: bytes) -> bytes:
    tag, ciphertext = rest[:tag_bytes], rest[tag_bytes:]
    try:
        return AESGCM(key.reveal()).decrypt(iv, ciphertext + tag, header)
    except InvalidTag:
        raise ChecksumFailed from None


def _check_counter_accepted(counter: int, last_counter: int) -> None:
    if counter <= last_counter:
        raise CounterLow
    if counter > counter_limit:
        raise CounterBlocked
    if counter > last_counter + counter_window:
        raise CounterHigh


def _unpad(plain: bytes, padding: int) -> bytes:
    if padding > len(plain) or any(plain[len(plain) - padding :]):
        raise CipheringError
    return plain[: len(plain) - padding]


def _padding(length: int) -> int:
    return -length % pad_block


def _check_counter(counter: int) -> None:
    if not 1 <= counter <= counter_limit:
        raise ValueError(f"a counter is 1 to {counter_limit}")


def _check_tar(tar: bytes) -> None:
    if len(tar) != 3:
        raise ValueError("a TAR is 3 bytes")
