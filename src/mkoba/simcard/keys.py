"""Per-SIM keys, derived from a master key that lives outside the database.

An OTA platform keeps one master key (in an HSM; here a 0600 file in the keys
folder, as the PIN key) and derives each SIM's keys from it and the SIM's ICCID
at personalisation. A copy of the database then holds no key at all, and
provisioning a SIM stores nothing secret: its keys can be derived again.

TS 102 225 names two keys: KIc to cipher and KID for the cryptographic checksum,
because 3DES-CBC and CBC-MAC must not share a key. AES-GCM is an AEAD: one key
both ciphers and authenticates, and the construction is proven for it, so a
second key would add nothing. KIc and KID therefore name *one* key version, and
a packet whose KIc and KID disagree is refused. What we separate instead is the
direction: the SIM's packets (MO) and the server's (MT) have their own keys,
each with its own counter, so a nonce can never be met twice under one key even
if the two counters meet.

``info`` binds each key to its use, direction and version; ``salt`` to the SIM.
"""

from __future__ import annotations

import enum
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mkoba.parties import SecretKey, load_or_create_key

MASTER_KEY_FILE = "sim-master.key"
# The key version is the high nibble of KIc and KID (TS 102 225 §5.1.2); 0 is
# kept for "no key", so a SIM has versions 1 to 15 over its life.
key_version_min = 1
key_version_max = 15
# ICCIDs (ITU-T E.118) are 18 to 20 digits, the last a Luhn check digit.
iccid_digits_min = 18
iccid_digits_max = 20
_label = b"mkoba-sim-aead-v1"


class Direction(enum.IntEnum):
    """Who sealed a packet: the first byte of its nonce, and part of its key."""

    MO = 0  # mobile-originated: the SIM to the server
    MT = 1  # mobile-terminated: the server to the SIM


def load_master_key(keys_dir: Path) -> SecretKey:
    """The SIM master key in ``keys_dir`` (made on first use, mode 0600)."""
    return load_or_create_key(keys_dir / MASTER_KEY_FILE)


def check_iccid(iccid: str) -> str:
    """``iccid`` if it is one (digits, length, Luhn); ``ValueError`` otherwise."""
    if not (isinstance(iccid, str) and iccid.isascii() and iccid.isdigit()):
        raise ValueError("an ICCID is digits only")
    if not iccid_digits_min <= len(iccid) <= iccid_digits_max:
        raise ValueError(f"an ICCID has {iccid_digits_min} to {iccid_digits_max} digits")
    if not _luhn_ok(iccid):
        raise ValueError("the ICCID's check digit is wrong")
    return iccid


def check_key_version(version: int) -> int:
    """``version`` if a KIc/KID nibble can carry it; ``ValueError`` otherwise."""
    if not (isinstance(version, int) and key_version_min <= version <= key_version_max):
        raise ValueError(f"a key version is {key_version_min} to {key_version_max}")
    return version


def derive_sim_key(
    master: SecretKey, iccid: str, key_version: int, direction: Direction
) -> SecretKey:
    """The AES-256-GCM key of one SIM, key version and direction.

    HKDF-SHA256: salt is the ICCID, so two SIMs never share a key; info names the
    use, the direction and the version, so a new version (after a swap or a
    rotation) is a new key and the old one ends with it.
    """
    check_iccid(iccid)
    check_key_version(key_version)
    info = b"%s|%s|v%d" % (_label, direction.name.encode(), key_version)
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=iccid.encode(), info=info)
    return SecretKey(hkdf.derive(master.reveal()))


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


class KeyRing:
    """The per-SIM keys of one master key, each derived once and then kept.

    HKDF per packet would be cheap but not free; a server keeps the keys of the
    SIMs it serves (at most ``kept_max``, then it starts over). Never in a repr.
    """

    kept_max = 100_000

    def __init__(self, master: SecretKey) -> None:
        self._master = master
        self._kept: dict[tuple[str, int, Direction], SecretKey] = {}

    def key(self, iccid: str, key_version: int, direction: Direction) -> SecretKey:
        """The key of one SIM, key version and direction."""
        found = self._kept.get((iccid, key_version, direction))
        if found is None:
            if len(self._kept) >= self.kept_max:
                self._kept.clear()
            found = derive_sim_key(self._master, iccid, key_version, direction)
            self._kept[iccid, key_version, direction] = found
        return found

    def __repr__(self) -> str:
        return "KeyRing([secure])"
