"""Why a payment code was refused: one exception type, a reason a program can act on,
and a message a person can read.

Every check in ``tlv``, ``emvco`` and ``keqr`` raises ``QrRefused``. Messages never
repeat a code's one-time token or signature: they name the field and what is wrong.
"""

from __future__ import annotations

import enum


@enum.unique
class Refusal(enum.Enum):
    """The kind of problem, for the app to choose its words (and for tests)."""

    # The text is not an EMVCo payload: lengths, IDs, order, characters.
    MALFORMED = "malformed"
    # The check digits (ID 63) do not match: the code was altered or misread.
    CHECKSUM = "checksum"
    # A field the format requires is absent.
    MISSING = "missing"
    # A field is present but its value breaks the format.
    INVALID = "invalid"
    # A well-formed code that mkoba does not pay (another scheme, currency or country).
    UNSUPPORTED = "unsupported"
    # A dynamic code past its expiry.
    EXPIRED = "expired"


class QrRefused(ValueError):
    """A payment code refused; ``str(error)`` is the reason, fit to show the payer."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        assert isinstance(refusal, Refusal)
        assert message, "a refusal always says why"
        super().__init__(message)
        self.refusal = refusal
