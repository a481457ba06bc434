"""Why a secured packet is refused, as the proof-of-receipt status that says so.

The codes are TS 102 225's response status codes (table 5.3), with '0B' and
'0C' from TS 31.115. Each refusal is its own exception type carrying its code,
so the channel answers the SIM with the matching status and tests can tell the
refusals apart. Their messages are fixed sentences: never a key, a counter the
attacker chose, nor a byte of the packet.
"""

from __future__ import annotations

import enum


class PorStatus(enum.IntEnum):
    """The status byte of a response packet (proof of receipt)."""

    OK = 0x00
    CHECKSUM_FAILED = 0x01  # RC/CC/DS failed: here, the AES-GCM tag
    COUNTER_LOW = 0x02
    COUNTER_HIGH = 0x03
    COUNTER_BLOCKED = 0x04
    CIPHERING_ERROR = 0x05
    UNIDENTIFIED_SECURITY_ERROR = 0x06  # the header cannot be read
    INSUFFICIENT_MEMORY = 0x07
    MORE_TIME = 0x08
    TAR_UNKNOWN = 0x09
    INSUFFICIENT_SECURITY_LEVEL = 0x0A
    RESPONSE_BY_SMS_SUBMIT = 0x0B  # TS 31.115: the actual response follows by SMS-SUBMIT
    RESPONSE_BY_USSD = 0x0C  # TS 31.115: ... by USSD


class PacketRefused(Exception):
    """A secured packet that is not acted on; ``status`` is the PoR to answer with."""

    status: PorStatus = PorStatus.UNIDENTIFIED_SECURITY_ERROR
    reason = "the packet was refused"

    def __init__(self) -> None:
        super().__init__(f"{self.reason} (status {self.status:#04x})")

    def __reduce__(self) -> tuple[type[PacketRefused], tuple[()]]:
        # Rebuilt from its type alone: it crosses processes as it was raised.
        return (type(self), ())


class ChecksumFailed(PacketRefused):
    """The tag does not match: tampered, truncated inside, or another key."""

    status = PorStatus.CHECKSUM_FAILED
    reason = "the packet's integrity check failed"


class CounterLow(PacketRefused):
    """The counter is not above the last one accepted: a replay or a reorder."""

    status = PorStatus.COUNTER_LOW
    reason = "the packet's counter is not above the last"


class CounterHigh(PacketRefused):
    """The counter jumps further ahead than the window allows."""

    status = PorStatus.COUNTER_HIGH
    reason = "the packet's counter is too far ahead"


class CounterBlocked(PacketRefused):
    """The key has used up its counters: a new key version is needed."""

    status = PorStatus.COUNTER_BLOCKED
    reason = "the key's counter is exhausted"


class CipheringError(PacketRefused):
    """Authentic, yet its deciphered content is not well formed (its padding)."""

    status = PorStatus.CIPHERING_ERROR
    reason = "the packet's deciphered data is malformed"


class UnreadableHeader(PacketRefused):
    """Truncated, a wrong length or identifier: the header cannot be interpreted."""

    status = PorStatus.UNIDENTIFIED_SECURITY_ERROR
    reason = "the packet's header cannot be read"


class UnknownKeyVersion(PacketRefused):
    """KIc/KID name a key version this SIM does not (or no longer) hold.

    TS 102 225 has no code of its own for this; '06' is the one for a header
    whose security cannot be identified, which is what an unknown key makes it.
    """

    status = PorStatus.UNIDENTIFIED_SECURITY_ERROR
    reason = "the packet names an unknown key version"


class PacketTooLong(PacketRefused):
    """Longer than any packet this side accepts."""

    status = PorStatus.INSUFFICIENT_MEMORY
    reason = "the packet is too long"


class TarUnknown(PacketRefused):
    """The TAR names no application of ours."""

    status = PorStatus.TAR_UNKNOWN
    reason = "the packet's TAR is unknown"


class InsufficientSecurity(PacketRefused):
    """SPI, KIc or KID ask for less than AES-GCM with a checked counter."""

    status = PorStatus.INSUFFICIENT_SECURITY_LEVEL
    reason = "the packet asks for an insufficient security level"


class MalformedRequest(PacketRefused):
    """Authentic and deciphered, yet the applet's request in it does not decode.

    The same code as a malformed deciphered packet ('05'): the SIM's own content is
    what is wrong. ``detail`` is a fixed sentence of ``applet.py``: never a byte,
    a value or a PIN of the request.
    """

    status = PorStatus.CIPHERING_ERROR
    reason = "the request in the packet is malformed"

    def __init__(self, detail: str = "") -> None:
        super().__init__()
        self.detail = detail
