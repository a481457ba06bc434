"""The validation server's keys, and what it computes with them.

Two keys, in files in the platform's keys folder (outside the database, as the
PIN key is): one digests enrolment codes, one signs payment codes and digests
their tokens. A copy of the database alone can neither test code guesses nor
make a code the server would take.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import NamedTuple

from mkoba.channels.app.keqr import Payee
from mkoba.parties import SecretKey, load_or_create_key

OTP_KEY_FILE = "app-otp.key"
CODES_KEY_FILE = "app-codes.key"
# The payment code's MAC (field 80/03): 128 bits, 22 characters of base64url.
mac_bytes = 16


class Keys(NamedTuple):
    """The enrolment-code key and the payment-code key."""

    otp: SecretKey
    codes: SecretKey


def load_keys(keys_dir: Path) -> Keys:
    """The keys in ``keys_dir`` (each made on first use, mode 0600)."""
    return Keys(
        load_or_create_key(keys_dir / OTP_KEY_FILE), load_or_create_key(keys_dir / CODES_KEY_FILE)
    )


def _mac(key: SecretKey, label: str, *parts: str) -> bytes:
    # Parts are joined with a separator no part may hold (checked by the callers'
    # formats: digits, ids, and text without control characters).
    assert all("\x1f" not in part for part in parts)
    message = "\x1f".join((label, *parts)).encode()
    return hmac.new(key.reveal(), message, hashlib.sha256).digest()


def otp_digest(key: SecretKey, enrolment: str, msisdn: str, code: str) -> str:
    """The stored form of an enrolment code: bound to the enrolment and number."""
    return _mac(key, "mkoba-app-otp-v1", enrolment, msisdn, code).hex()


def otp_matches(key: SecretKey, enrolment: str, msisdn: str, code: str, digest: str) -> bool:
    """Whether ``code`` is the enrolment's (in constant time)."""
    return hmac.compare_digest(otp_digest(key, enrolment, msisdn, code), digest)


def token_digest(key: SecretKey, token: str) -> str:
    """The stored (and looked-up) form of a payment code's one-time token."""
    return _mac(key, "mkoba-app-token-v1", token).hex()


def paycode_digest(key: SecretKey, digits: str) -> str:
    """The stored (and looked-up) form of a payer's pay code (its digits)."""
    return _mac(key, "mkoba-app-paycode-v1", digits).hex()


def b64url(data: bytes) -> str:
    """Base64url without padding, as the app writes it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def code_mac(
    key: SecretKey, payee: Payee, amount: int, reference: str, expiry: str, token: str
) -> str:
    """The server's MAC over what a dynamic code says (its field 80/03).

    Over the values, not the bytes: every field a payer is shown or paid by, and the
    expiry (``YYYYMMDDhhmmss``) and token. A code re-encoded with the same values
    keeps its MAC; a code with any value changed does not.
    """
    assert type(amount) is int, "money is integer minor units"
    parts = (
        payee.kind.value,
        payee.number,
        payee.name,
        payee.city,
        payee.category_code,
        str(amount),
        reference,
        expiry,
        token,
    )
    return b64url(_mac(key, "mkoba-app-code-v1", *parts)[:mac_bytes])


def mac_matches(expected: str, given: str | None) -> bool:
    """Whether a code's field 80/03 is the MAC we computed (in constant time)."""
    if given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
