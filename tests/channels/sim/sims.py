"""One test SIM: a fixed master key and ICCID, its keys, and a forger of raw packets.

``forge_command`` builds a command packet field by field with AES-GCM itself, so
a test can make a packet that is authentic yet asks for what ``seal_command``
never seals (a counter past the limit, no ciphering, bad padding).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mkoba.parties import SecretKey
from mkoba.simcard.keys import Direction, derive_sim_key
from mkoba.simcard.packet import SPI1, TAR_MONEY, nonce

MASTER = SecretKey(bytes(range(32)))
ICCID = "89254012345678901234"
OTHER_ICCID = "89254012345678901242"
MO_KEY = derive_sim_key(MASTER, ICCID, 1, Direction.MO)
MT_KEY = derive_sim_key(MASTER, ICCID, 1, Direction.MT)
# A PIN that must never be seen in a sealed packet, an error or a repr.
CANARY_PIN = b"4739"
REQUEST = b"SEND 254711000002 1500 PIN=" + CANARY_PIN


def forge_command(
    key: SecretKey = MO_KEY,
    *,
    spi: bytes = bytes((SPI1, 0x39)),
    kic: int = 0x13,
    kid: int = 0x13,
    tar: bytes = TAR_MONEY,
    counter: int = 1,
    padding: int = 0,
    plaintext: bytes = REQUEST,
    key_version: int = 1,
) -> bytes:
    """A command packet with exactly these fields, sealed with ``key``."""
    header_length = 29
    length = 1 + header_length + len(plaintext)
    header = (
        length.to_bytes(2, "big")
        + bytes((header_length,))
        + spi
        + bytes((kic, kid))
        + tar
        + counter.to_bytes(5, "big")
        + bytes((padding,))
    )
    sealed = AESGCM(key.reveal()).encrypt(
        nonce(Direction.MO, key_version, counter), plaintext, header
    )
    return header + sealed[-16:] + sealed[:-16]
