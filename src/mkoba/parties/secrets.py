"""Secrets that must never reach a log, an error message, a snapshot or the bus in clear.

``Pin`` holds a clear PIN in memory only; its ``repr`` and ``str`` are
``[secure]`` and it refuses to be pickled or turned into JSON. ``SealedPin``
is a PIN encrypted under the transport key (AES-GCM), the only form in which a
PIN may cross the bus, like a PIN block between a terminal and an HSM.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as random
from pathlib import Path
from typing import NoReturn

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

REDACTED = "[secure]"
# PINs are four to six digits (M-Pesa uses four).
pin_digits_min = 4
pin_digits_max = 6
# A one-time code (a step-up's confirmation) is six digits.
otp_digits = 6
key_bytes = 32


class Pin:
    """A clear PIN, in memory only."""

    __slots__ = ("_digits",)

    def __init__(self, digits: str) -> None:
        # ASCII digits only: str.isdigit() also takes "²" and "٣", which no keypad sends.
        if not isinstance(digits, str) or not (digits.isascii() and digits.isdigit()):
            raise ValueError("a PIN is digits only")
        if not pin_digits_min <= len(digits) <= pin_digits_max:
            raise ValueError(f"a PIN has {pin_digits_min} to {pin_digits_max} digits")
        self._digits = digits

    def reveal(self) -> str:
        """The digits, for the verifier only."""
        return self._digits

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __reduce__(self) -> NoReturn:
        raise TypeError("a PIN cannot be serialised")

    def __eq__(self, other: object) -> bool:
        raise TypeError("compare PINs with the vault, in constant time")

    __hash__ = None  # type: ignore[assignment]


class Otp(Pin):
    """A clear one-time code, in memory only: redacted, unserialisable, compared by HMAC."""

    __slots__ = ()

    def __init__(self, digits: str) -> None:
        if not isinstance(digits, str) or not (digits.isascii() and digits.isdigit()):
            raise ValueError("a code is digits only")
        if len(digits) != otp_digits:
            raise ValueError(f"a code has {otp_digits} digits")
        self._digits = digits


class SealedPin:
    """A PIN encrypted for the processor: safe to queue, never readable on the way."""

    __slots__ = ("blob",)

    def __init__(self, blob: bytes) -> None:
        self.blob = blob

    def __repr__(self) -> str:
        return "SealedPin([secure])"

    def __reduce__(self) -> NoReturn:
        # PCI: PIN blocks, even encrypted, are never kept; a bus carries ``blob`` itself.
        raise TypeError("a sealed PIN cannot be serialised")


class SecretKey:
    """A key held in memory; redacted everywhere it could be printed."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) != key_bytes:
            raise ValueError(f"a key is {key_bytes} bytes")
        self._key = key

    def reveal(self) -> bytes:
        """The key bytes, for the cryptography that needs them."""
        return self._key

    def __repr__(self) -> str:
        return f"SecretKey({REDACTED})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a key cannot be serialised")


def seal_pin(pin: Pin, key: SecretKey, context: bytes) -> SealedPin:
    """Encrypt ``pin`` for the processor, bound to ``context`` (the request id)."""
    nonce = random.token_bytes(12)
    blob = AESGCM(key.reveal()).encrypt(nonce, pin.reveal().encode(), context)
    return SealedPin(nonce + blob)


def open_pin(sealed: SealedPin, key: SecretKey, context: bytes) -> Pin:
    """Decrypt a sealed PIN; ``ValueError`` if tampered with or sealed for another request."""
    try:
        digits = AESGCM(key.reveal()).decrypt(sealed.blob[:12], sealed.blob[12:], context)
    except Exception:  # cryptography raises InvalidTag; say nothing about why
        raise ValueError("the PIN could not be read") from None
    return Pin(digits.decode())


def keys_fingerprint(key: SecretKey) -> str:
    """A short name for ``key`` that reveals nothing of it: processes compare theirs."""
    return hmac.new(key.reveal(), b"mkoba keys fingerprint", hashlib.sha256).hexdigest()[:16]


def load_or_create_key(path: Path) -> SecretKey:
    """The key in ``path`` (created with mode 0600 on first use).

    Keys live in files outside the database, as an HSM's keys live outside the
    data it protects: a copy of the database alone cannot test PIN guesses.
    """
    if path.exists():
        data = path.read_bytes()
        if len(data) != key_bytes:
            raise ValueError(f"{path} does not hold a {key_bytes}-byte key")
        return SecretKey(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = random.token_bytes(key_bytes)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    return SecretKey(key)
