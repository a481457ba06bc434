"""The SIM's side of the secured packet, for ``mkoba bench sim``: written from docs/sim.md.

The bench plays the SIM, and ``mkoba.bench`` imports no channel (the design's
arrows, pyproject's import contracts), so this is a second implementation of the
envelope, from the tables of docs/sim.md: the per-SIM keys (HKDF-SHA256 of the
master key), the command packet the SIM seals (AES-256-GCM, header authenticated,
its own counter in the nonce), the response it opens, the SMS that carry them and
the applet's TLVs. A bench whose every transaction succeeds is also a check that
the two implementations agree on every byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mkoba.parties import SecretKey

MO, MT = 0, 1  # the nonce's first byte, and the key's direction
TAR_MONEY = bytes.fromhex("4d4b01")
COMMAND_PACKET, RESPONSE_PACKET, CONCATENATION = 0x70, 0x71, 0x00
SMS_OCTETS = 140
_TAG = 16
_CHL = 29  # SPI .. CC
_RHL = 26  # TAR .. CC
_SPI = bytes((0x16, 0x39))  # CC, ciphered, counter mode '10'; PoR always, with CC, ciphered
_GCM = 0x03
_PAD = 8
_LABEL = b"mkoba-sim-aead-v1"


class Unopened(Exception):
    """A response the SIM does not take: its tag, counter, length or padding is wrong."""


@dataclass(frozen=True, slots=True)
class Opened:
    """An opened response: the PoR status, which command it answers, and the answer."""

    counter: int
    status: int
    answers: int
    data: bytes = field(repr=False)


def sim_key(master: SecretKey, iccid: str, key_version: int, direction: int) -> SecretKey:
    """One SIM's AES-256-GCM key for a direction (docs/sim.md, "Keys")."""
    info = b"%s|%s|v%d" % (_LABEL, b"MT" if direction == MT else b"MO", key_version)
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=iccid.encode(), info=info)
    return SecretKey(hkdf.derive(master.reveal()))


def _nonce(direction: int, key_version: int, counter: int) -> bytes:
    return bytes((direction, key_version, 0, 0)) + counter.to_bytes(8, "big")


def seal_command(key: SecretKey, key_version: int, counter: int, data: bytes) -> bytes:
    """The command packet carrying ``data`` to the transactions TAR under ``counter``."""
    padding = -len(data) % _PAD
    kic = key_version << 4 | _GCM
    header = (
        (1 + _CHL + len(data) + padding).to_bytes(2, "big")
        + bytes((_CHL,))
        + _SPI
        + bytes((kic, kic))
        + TAR_MONEY
        + counter.to_bytes(5, "big")
        + bytes((padding,))
    )
    sealed = AESGCM(key.reveal()).encrypt(
        _nonce(MO, key_version, counter), data + bytes(padding), header
    )
    return header + sealed[-_TAG:] + sealed[:-_TAG]


def open_response(packet: bytes, key: SecretKey, key_version: int, last_counter: int) -> Opened:
    """The response in ``packet``, if it is authentic, new and well formed."""
    header_end = 3 + _RHL - _TAG
    if len(packet) < header_end + _TAG + 5 or int.from_bytes(packet[:2], "big") != len(packet) - 2:
        raise Unopened("the response's length is wrong")
    header = packet[:header_end]
    counter, padding, status = int.from_bytes(header[6:11], "big"), header[11], header[12]
    secured = packet[header_end + _TAG :] + packet[header_end : header_end + _TAG]
    try:
        plain = AESGCM(key.reveal()).decrypt(_nonce(MT, key_version, counter), secured, header)
    except InvalidTag:
        raise Unopened("the response's tag is wrong") from None
    if counter <= last_counter:
        raise Unopened("the response's counter is not above the last")
    if padding > len(plain) - 5 or any(plain[len(plain) - padding :]):
        raise Unopened("the response's padding is wrong")
    body = plain[: len(plain) - padding]
    return Opened(counter, status, int.from_bytes(body[:5], "big"), body[5:])


def command_sms(packet: bytes) -> bytes:
    """The user data of the one SMS carrying a command packet (``02 70 00`` + packet)."""
    user_data = bytes((2, COMMAND_PACKET, 0)) + packet
    if len(user_data) > SMS_OCTETS:
        raise ValueError("the bench's requests fit one SMS")
    return user_data


@dataclass(slots=True)
class ResponseJoiner:
    """Joins the SMS of a response packet: one SMS, or parts with IEI 00 (and 71 on the first)."""

    parts: dict[int, dict[int, bytes]] = field(default_factory=dict)

    def add(self, user_data: bytes) -> bytes | None:
        """The response packet once ``user_data`` completes it; None while parts are missing."""
        length = user_data[0]
        udh, body = user_data[1 : 1 + length], user_data[1 + length :]
        concat, at, response = b"", 0, False
        while at + 2 <= len(udh):
            iei, value = udh[at], udh[at + 2 : at + 2 + udh[at + 1]]
            at += 2 + udh[at + 1]
            if iei == CONCATENATION:
                concat = value
            elif iei == RESPONSE_PACKET:
                response = True
        if not concat:
            if not response:
                raise Unopened("an SMS that is no response packet")
            return body
        reference, total, number = concat
        waiting = self.parts.setdefault(reference, {})
        waiting[number] = body
        if len(waiting) < total:
            return None
        del self.parts[reference]
        return b"".join(waiting[n] for n in range(1, total + 1))


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes((tag, len(value))) + value


def applet_request(product: str, fields: dict[str, str], pin: str, menu_version: int) -> bytes:
    """The applet's request: format 01, product, fields, PIN, menu version (docs/sim.md)."""
    out = bytearray((0x01,))
    out += _tlv(0x01, product.encode("ascii"))
    for name, value in fields.items():
        raw = name.encode("ascii")
        out += _tlv(0x02, bytes((len(raw),)) + raw + value.encode())
    out += _tlv(0x03, pin.encode("ascii"))
    out += _tlv(0x04, menu_version.to_bytes(2, "big"))
    return bytes(out)


def applet_answer(data: bytes) -> dict[int, str]:
    """The answer's TLVs after format 01: 0x81 code, 0x82 message, 0x83 receipt."""
    if not data or data[0] != 0x01:
        raise Unopened("the answer's format is unknown")
    found: dict[int, str] = {}
    at = 1
    while at + 2 <= len(data):
        tag, length = data[at], data[at + 1]
        found[tag] = data[at + 2 : at + 2 + length].decode()
        at += 2 + length
    if at != len(data) or 0x81 not in found:
        raise Unopened("the answer is cut short")
    return found
