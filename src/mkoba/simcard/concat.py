"""A secured packet in 8-bit SMS: one message, or several joined by a concatenation header.

TS 31.115 carries a command packet in the SMS's user data after a user data
header holding the command packet identifier (IEI 0x70, no data; 0x71 for a
response packet). When the packet does not fit 140 octets it is split: every
part has the concatenation element (IEI 0x00: 8-bit reference, parts, this
part's number), and the first part alone also has the packet identifier, as
TS 31.115 §6.2 (ex TS 23.048 §6.2) lays out concatenated command packets. The
reader takes the two elements of a first part in either order.

Joining takes parts in any order, ignores an exact duplicate, refuses a part
that contradicts the others (another count, another identifier, the same number
with other bytes) and waits for missing ones until ``part_wait_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

COMMAND_PACKET = 0x70
RESPONSE_PACKET = 0x71
_concatenation = 0x00
sms_octets = 140
parts_max = 255
# How long a started message waits for its missing parts, and how many may wait.
part_wait_seconds = 600.0
pending_max = 10_000


class BadPart(ValueError):
    """An SMS that is not (or does not fit) a part of a secured packet."""

    def __init__(self, reason: str) -> None:
        # ``reason`` is one of this module's fixed sentences: never bytes of the SMS.
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class Part:
    """One SMS's user data, read: ``identifier`` is 0x70/0x71 on a first part only."""

    identifier: int | None
    reference: int
    total: int
    number: int
    body: bytes = field(repr=False)


def split_packet(packet: bytes, *, identifier: int, reference: int) -> list[bytes]:
    """The user data of the SMS that carry ``packet`` (one, or concatenated parts)."""
    if identifier not in (COMMAND_PACKET, RESPONSE_PACKET):
        raise ValueError("the identifier is 0x70 (command) or 0x71 (response)")
    if not 0 <= reference <= 0xFF:
        raise ValueError("an 8-bit reference is 0 to 255")
    single = bytes((2, identifier, 0))
    if len(single) + len(packet) <= sms_octets:
        return [single + packet]
    first_room = sms_octets - 8  # UDHL, 00 03 ref total number, 70 00
    room = sms_octets - 6  # UDHL, 00 03 ref total number
    chunks = [packet[:first_room]]
    chunks += [packet[at : at + room] for at in range(first_room, len(packet), room)]
    if len(chunks) > parts_max:
        raise ValueError(f"a packet fits at most {parts_max} parts")
    total = len(chunks)
    parts = []
    for number, chunk in enumerate(chunks, start=1):
        concat = bytes((_concatenation, 3, reference, total, number))
        udh = concat + bytes((identifier, 0)) if number == 1 else concat
        parts.append(bytes((len(udh),)) + udh + chunk)
    return parts


def read_part(user_data: bytes) -> Part:
    """The header and body of one SMS's user data; ``BadPart`` if it is none of ours."""
    if len(user_data) > sms_octets:
        raise BadPart("an SMS carries at most 140 octets")
    if not user_data or user_data[0] + 1 > len(user_data):
        raise BadPart("the user data header is truncated")
    udh, body = user_data[1 : user_data[0] + 1], user_data[user_data[0] + 1 :]
    identifier: int | None = None
    concat: bytes | None = None
    at = 0
    while at < len(udh):
        if at + 2 > len(udh) or at + 2 + udh[at + 1] > len(udh):
            raise BadPart("the user data header is truncated")
        iei, value = udh[at], udh[at + 2 : at + 2 + udh[at + 1]]
        at += 2 + len(value)
        if iei in (COMMAND_PACKET, RESPONSE_PACKET):
            if identifier is not None or value:
                raise BadPart("the packet identifier is malformed")
            identifier = iei
        elif iei == _concatenation:
            if concat is not None or len(value) != 3:
                raise BadPart("the concatenation element is malformed")
            concat = value
        # Any other element is not ours to read (TS 23.040: ignore it).
    if concat is None:
        if identifier is None:
            raise BadPart("the SMS carries no secured packet")
        return Part(identifier, 0, 1, 1, body)
    reference, total, number = concat
    if not 1 <= number <= total:
        raise BadPart("the part's number is outside its count")
    if (number == 1) != (identifier is not None):
        raise BadPart("only the first part carries the packet identifier")
    return Part(identifier, reference, total, number, body)


@dataclass(frozen=True, slots=True)
class Joined:
    """A whole packet, and whether it is a command (0x70) or a response (0x71)."""

    identifier: int
    packet: bytes = field(repr=False)


@dataclass(slots=True)
class _Pending:
    total: int
    started: float
    parts: dict[int, Part]


class Joiner:
    """Puts concatenated parts back together, per sender and reference."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, int], _Pending] = {}

    def add(self, sender: str, user_data: bytes, now: float) -> Joined | None:
        """The packet once ``user_data`` completes it, ``None`` while parts are missing.

        ``BadPart`` for a part that cannot belong: its message is then dropped,
        since one contradicting part makes every other part of it suspect.
        """
        part = read_part(user_data)
        if part.total == 1:
            assert part.identifier is not None
            return Joined(part.identifier, part.body)
        self.expire(now)
        key = (sender, part.reference)
        pending = self._pending.get(key)
        if pending is None:
            if len(self._pending) >= pending_max:
                raise BadPart("too many messages are waiting for parts")
            pending = self._pending[key] = _Pending(part.total, now, {})
        elif pending.total != part.total:
            del self._pending[key]
            raise BadPart("the part's count differs from its message's")
        seen = pending.parts.get(part.number)
        if seen is not None and seen != part:
            del self._pending[key]
            raise BadPart("two different parts have the same number")
        pending.parts[part.number] = part
        if len(pending.parts) < pending.total:
            return None
        del self._pending[key]
        first = pending.parts[1]
        assert first.identifier is not None
        packet = b"".join(pending.parts[number].body for number in range(1, pending.total + 1))
        return Joined(first.identifier, packet)

    def expire(self, now: float) -> int:
        """Drop messages whose parts did not all come in time; how many were dropped."""
        stale = [
            key
            for key, pending in self._pending.items()
            if now - pending.started > part_wait_seconds
        ]
        for key in stale:
            del self._pending[key]
        return len(stale)

    def waiting(self) -> int:
        """How many messages are waiting for parts."""
        return len(self._pending)
