"""A member of staff's two factors: a password (argon2id) and a TOTP, each code used once.

Passwords are at least 12 characters with letters and digits (PCI DSS 8.3.6), hashed
with argon2id. TOTP is RFC 6238 (30 s steps, 6 digits) from a CSPRNG seed; a code is
accepted one step either side of now, and only for a step later than the last one
accepted, so no code is usable twice (ASVS V6.5.1). Nothing here logs or keeps a
password or a code.
"""

from __future__ import annotations

import functools
import hmac
import secrets

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

password_chars_min = 12
password_chars_max = 256
totp_step_s = 30
totp_digits = 6
# Steps either side of now a code is still taken at (clock drift of the phone).
totp_window_steps = 1

# argon2id, RFC 9106's second recommended profile: 3 passes over 64 MiB, 4 lanes.
_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4)


class WeakPassword(ValueError):
    """A password the policy refuses, with the reason as its message."""


def check_password(password: str) -> None:
    """Refuse a password that is too short, too long, or lacks letters or digits."""
    if len(password) < password_chars_min:
        raise WeakPassword(f"a password has at least {password_chars_min} characters")
    if len(password) > password_chars_max:
        raise WeakPassword(f"a password has at most {password_chars_max} characters")
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        raise WeakPassword("a password has letters and digits")


def hash_password(password: str) -> str:
    """The argon2id hash of a password the policy accepts."""
    check_password(password)
    return _HASHER.hash(password)


def password_matches(hashed: str, password: str) -> bool:
    """Whether ``password`` is the one ``hashed`` was made from (slow on purpose)."""
    if len(password) > password_chars_max:
        return False
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _decoy() -> str:
    return _HASHER.hash(secrets.token_hex(32))


def burn(password: str) -> None:
    """Spend what checking a password costs, on no account (an unknown username's attempt)."""
    password_matches(_decoy(), password)


def needs_rehash(hashed: str) -> bool:
    """Whether a stored hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(hashed)


def new_totp_secret() -> str:
    """A fresh TOTP seed (160 bits from the OS's CSPRNG, base32)."""
    return pyotp.random_base32(32)


def totp_uri(secret: str, name: str, issuer: str = "mkoba") -> str:
    """The ``otpauth://`` URI an authenticator app enrols from (shown as a QR code)."""
    return pyotp.TOTP(secret, digits=totp_digits, interval=totp_step_s).provisioning_uri(
        name=name, issuer_name=issuer
    )


def totp_now(secret: str, at_s: float) -> str:
    """The code for ``at_s`` (for the command line that helps a demo sign in)."""
    return pyotp.TOTP(secret, digits=totp_digits, interval=totp_step_s).at(at_s)


def accept_totp(secret: str, code: str, at_s: float, last_step: int) -> int | None:
    """The step ``code`` belongs to, if it is valid now and later than ``last_step``."""
    if len(code) != totp_digits or not code.isascii() or not code.isdigit():
        return None
    if not secret:  # no seed enrolled: an empty key would make codes anyone can compute
        return None
    totp = pyotp.TOTP(secret, digits=totp_digits, interval=totp_step_s)
    now_step = int(at_s // totp_step_s)
    for step in range(now_step - totp_window_steps, now_step + totp_window_steps + 1):
        if step > last_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
