"""The channel's secrets: keyed verifiers, sealed passkeys, fresh tokens and keys.

Consumer secrets, initiator passwords and bearer tokens are kept only as
HMAC-SHA-256 verifiers under the channel key (``keys_dir/daraja.key``), compared
in constant time. Passkeys are needed in clear to check STK passwords, so they
are sealed (AES-GCM) under the same key instead. A copy of the database alone
reveals none of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mkoba.parties import SecretKey, load_or_create_key

_ALPHABET = string.ascii_letters + string.digits
# Daraja's tokens are 28 characters; consumer keys and secrets 48 and 64 in the portal.
token_length = 28
consumer_key_length = 48
consumer_secret_length = 64


def random_text(length: int) -> str:
    """Random letters and digits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


class Vault:
    """Verifies and seals the channel's secrets under one key."""

    __slots__ = ("_key",)

    def __init__(self, key: SecretKey) -> None:
        self._key = key

    @classmethod
    def load(cls, keys_dir: Path) -> Vault:
        """The vault whose key is in ``keys_dir`` (created on first use)."""
        return cls(load_or_create_key(keys_dir / "daraja.key"))

    def verifier(self, purpose: str, secret: str) -> str:
        """A keyed verifier of ``secret`` for ``purpose`` (a secret, a password, a token)."""
        message = purpose.encode() + b"\0" + secret.encode()
        return hmac.new(self._key.reveal(), message, hashlib.sha256).hexdigest()

    def matches(self, verifier: str, purpose: str, secret: str) -> bool:
        """Whether ``secret`` is the one ``verifier`` was made from, in constant time."""
        return hmac.compare_digest(verifier, self.verifier(purpose, secret))

    def seal(self, context: str, text: str) -> str:
        """``text`` encrypted and bound to ``context`` (a shortcode), as base64."""
        nonce = secrets.token_bytes(12)
        blob = AESGCM(self._key.reveal()).encrypt(nonce, text.encode(), context.encode())
        return base64.b64encode(nonce + blob).decode()

    def open(self, context: str, sealed: str) -> str:
        """What ``seal`` sealed; ``ValueError`` when tampered with or for another context."""
        try:
            blob = base64.b64decode(sealed, validate=True)
            text = AESGCM(self._key.reveal()).decrypt(blob[:12], blob[12:], context.encode())
        except Exception:  # InvalidTag, binascii errors: say nothing about why
            raise ValueError("the sealed value could not be read") from None
        return text.decode()

    def __repr__(self) -> str:
        return "Vault([secure])"
