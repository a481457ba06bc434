"""What the validation server refuses: a stable code (docs/app-protocol.md) and a sentence.

Every check of the validation server raises ``AppRefused``; the app channel
answers it as ``{"error": {"code", "message", ...extra}}`` with ``status``. The
message is English, for a person, and never holds a secret (a code, a token, a
key): it says which check failed, not with what.
"""

from __future__ import annotations

from typing import Any

from mkoba.channels.app.refusal import QrRefused

# Enrolment (unsigned routes).
ENROL_TOO_OFTEN = "enrol_too_often"
OTP_WRONG = "otp_wrong"
OTP_ATTEMPTS = "otp_attempts"
OTP_EXPIRED = "otp_expired"
OTP_UNKNOWN = "otp_unknown"
# Binding a device: what the app sends is not a P-256 key or a name we can keep.
KEY_INVALID = "key_invalid"
NAME_INVALID = "name_invalid"
# Signed requests.
DEVICE_UNKNOWN = "device_unknown"
BINDING_ENDED = "binding_ended"
SIGNATURE_INVALID = "signature_invalid"
COUNTER_REPLAYED = "counter_replayed"
# Payment codes: ``qr_`` and the reading's ``Refusal`` (malformed, checksum, missing,
# invalid, unsupported, expired), then the validation server's own.
QR_UNKNOWN = "qr_unknown"
QR_TAMPERED = "qr_tampered"
QR_PAID = "qr_paid"
QR_OWN = "qr_own"
# Pay by code (customer-presented): the payee's charge, the payer's confirmation.
PAYCODE_UNKNOWN = "paycode_unknown"
PAYCODE_EXPIRED = "paycode_expired"
PAYCODE_USED = "paycode_used"
PAYCODE_OWN = "paycode_own"
PAYCODE_ATTEMPTS = "paycode_attempts"
CHARGE_UNKNOWN = "charge_unknown"
CHARGE_LAPSED = "charge_lapsed"
CHARGE_DONE = "charge_done"

# The HTTP status the contract gives each code (the channel answers with it).
STATUS: dict[str, int] = {
    ENROL_TOO_OFTEN: 429,
    OTP_WRONG: 401,
    OTP_ATTEMPTS: 401,
    OTP_EXPIRED: 401,
    OTP_UNKNOWN: 401,
    KEY_INVALID: 400,
    NAME_INVALID: 400,
    DEVICE_UNKNOWN: 401,
    BINDING_ENDED: 401,
    SIGNATURE_INVALID: 401,
    COUNTER_REPLAYED: 401,
    QR_UNKNOWN: 404,
    QR_TAMPERED: 400,
    QR_PAID: 409,
    QR_OWN: 403,  # a well-formed code this payer may not pay
    PAYCODE_UNKNOWN: 404,
    PAYCODE_EXPIRED: 410,
    PAYCODE_USED: 409,
    PAYCODE_OWN: 403,
    PAYCODE_ATTEMPTS: 429,
    CHARGE_UNKNOWN: 404,
    CHARGE_LAPSED: 410,
    CHARGE_DONE: 409,
}
# A reading's refusals (``qr_malformed``...): the payload itself is wrong, or expired.
_READING_STATUS = 400
_EXPIRED_STATUS = 410


class AppRefused(Exception):
    """A refusal of the validation server: ``code`` for the app, ``message`` for people."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        assert code, "a refusal has a stable code"
        assert message, "a refusal always says why"
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra: dict[str, Any] = extra

    @property
    def status(self) -> int:
        """The HTTP status the contract answers this refusal with."""
        if self.code in STATUS:
            return STATUS[self.code]
        return _EXPIRED_STATUS if self.code == "qr_expired" else _READING_STATUS

    def __repr__(self) -> str:
        return f"AppRefused({self.code!r}, {self.message!r})"


def from_reading(error: QrRefused) -> AppRefused:
    """A payment code's reading refusal as the app's: ``qr_`` and its kind."""
    return AppRefused(f"qr_{error.refusal.value}", str(error))
