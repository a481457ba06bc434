"""A menu pushed over the air, in chunks: the format both the SIM and the server speak.

A role's menu as the SIM stores it (``menus.py``), followed by its SHA-256, cut
in chunks of ``chunk_bytes``; each chunk is the data of one MT command packet
on the menu TAR: menu version (2) | chunk index (1) | chunks in all (1) | bytes.
The SIM answers each with a proof of receipt naming it: version (2) | index (1).
The server's side (what is sent when, and resuming) is ``channels/sim/ota.py``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from mkoba.simcard import menus
from mkoba.simcard.refusals import MalformedRequest

chunk_bytes = 220  # + 4 chunk header + 32 packet header + 7 padding: two SMS (266)
chunk_header_bytes = 4
chunks_max = 255  # the index and the count are one byte each
digest_bytes = 32
_sms_packet_bytes = 132 + 134  # two concatenated SMS (concat.py)
assert 3 + 29 + chunk_header_bytes + chunk_bytes + 7 <= _sms_packet_bytes


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk as the SIM reads it."""

    version: int
    index: int
    total: int
    data: bytes = field(repr=False)


def chunk_payload(version: int, index: int, total: int, data: bytes) -> bytes:
    """A chunk's bytes inside its command packet."""
    assert 1 <= version <= menus.version_max
    assert 0 <= index < total <= chunks_max
    assert 0 < len(data) <= chunk_bytes
    return version.to_bytes(2, "big") + bytes((index, total)) + data


def read_chunk(payload: bytes) -> Chunk:
    """The chunk in a command packet's data, or ``MalformedRequest`` (PoR '05')."""
    if len(payload) <= chunk_header_bytes or len(payload) > chunk_header_bytes + chunk_bytes:
        raise MalformedRequest("a menu chunk has the wrong length")
    version = int.from_bytes(payload[:2], "big")
    index, total = payload[2], payload[3]
    if version == 0 or not index < total:
        raise MalformedRequest("a menu chunk's header is malformed")
    return Chunk(version, index, total, payload[chunk_header_bytes:])


def receipt_data(version: int, index: int) -> bytes:
    """What the SIM's proof of receipt of a chunk carries: which chunk it is."""
    return version.to_bytes(2, "big") + bytes((index,))


def read_receipt(data: bytes) -> tuple[int, int]:
    """The (version, index) a proof of receipt names; ``MalformedRequest`` if none."""
    if len(data) != 3:
        raise MalformedRequest("a proof of receipt names no chunk")
    return int.from_bytes(data[:2], "big"), data[2]


@dataclass(frozen=True, slots=True)
class Package:
    """A role's menu, ready to push: its version, digest and chunks."""

    role: str
    version: int
    digest: str
    chunks: tuple[bytes, ...] = field(repr=False)


def package(document: str) -> Package:
    """The chunks of a USSD menu document (``MenuRefused`` if the SIM cannot carry it)."""
    menu = menus.from_document(document)
    encoded = menus.encode(menu)
    whole = encoded + hashlib.sha256(encoded).digest()
    chunks = tuple(whole[at : at + chunk_bytes] for at in range(0, len(whole), chunk_bytes))
    if len(chunks) > chunks_max:
        raise menus.MenuRefused(f"a SIM menu fits at most {chunks_max} chunks")
    return Package(menu.role, menu.version, hashlib.sha256(encoded).hexdigest(), chunks)


def assemble(chunks: list[bytes]) -> menus.SimMenu:
    """The menu the chunks make, checked against its digest (the SIM's side)."""
    whole = b"".join(chunks)
    encoded, digest = whole[:-digest_bytes], whole[-digest_bytes:]
    if len(whole) <= digest_bytes or hashlib.sha256(encoded).digest() != digest:
        raise menus.MenuRefused("the menu does not match its digest")
    return menus.decode(encoded)
