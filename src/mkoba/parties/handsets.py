"""Handset credentials: what lets a simulated phone act for its own number, and no other.

A real phone proves itself by its SIM: the network, not the phone, says which
number it is. The simulated handsets of a developer's mkoba (``mkoba phone``,
tests, curl) have no SIM, so each gets a credential instead:
``HMAC-SHA-256(handset key, number)``, where the handset key is a file in the
keys directory (``handset.key``, made at first start like the PIN key, never in
the database). Whoever can read the keys directory can pair a phone; nobody
else can. A credential names its number (``<msisdn>.<mac>``), so a route that
is not keyed by number (answering an STK prompt) still knows who is asking.

Sent as ``Authorization: Handset <credential>`` (HTTP clients and httpx's
header repr keep Authorization out of logs). Rotating the key (delete
``handset.key``, restart) unpairs every phone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import NoReturn

from mkoba.parties.secrets import REDACTED, SecretKey, key_bytes, load_or_create_key

KEY_FILE = "handset.key"
SCHEME = "Handset"
# Binds the MAC to this use of the key (and lets a later version change the format).
_CONTEXT = b"mkoba-handset-v1:"
# E.164: at most 15 digits.
_msisdn_digits_max = 15


class HandsetCredential:
    """One number's credential; redacted wherever it could be printed."""

    __slots__ = ("_token", "msisdn")

    def __init__(self, msisdn: str, token: str) -> None:
        self.msisdn = msisdn
        self._token = token

    def reveal(self) -> str:
        """The credential itself, to send or to print for the developer."""
        return self._token

    def header(self) -> dict[str, str]:
        """The HTTP header that carries it."""
        return {"Authorization": f"{SCHEME} {self._token}"}

    def __repr__(self) -> str:
        return f"HandsetCredential({self.msisdn}, {REDACTED})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a credential cannot be serialised")


class HandsetKey:
    """The key every handset credential is made from and checked against."""

    __slots__ = ("_key",)

    def __init__(self, key: SecretKey) -> None:
        self._key = key

    @classmethod
    def load_or_create(cls, keys_dir: Path) -> HandsetKey:
        """The server's key (``keys_dir/handset.key``), made on first use."""
        path = keys_dir / KEY_FILE
        try:
            return cls(load_or_create_key(path))
        except FileExistsError:  # another process (a front, a core) made it just now
            return cls(load_or_create_key(path))

    @classmethod
    def load(cls, keys_dir: Path) -> HandsetKey:
        """An existing key, for a phone to pair with (never made here: it would not match)."""
        path = keys_dir / KEY_FILE
        data = path.read_bytes()  # FileNotFoundError: the server never started with this dir
        if len(data) != key_bytes:
            raise ValueError(f"{path} does not hold a {key_bytes}-byte key")
        return cls(SecretKey(data))

    def credential(self, msisdn: str) -> HandsetCredential:
        """The credential of ``msisdn`` (canonical digits, as ``normalize_msisdn`` gives)."""
        if not _is_msisdn(msisdn):
            raise ValueError("a handset credential is for a canonical MSISDN (digits only)")
        return HandsetCredential(msisdn, f"{msisdn}.{self._mac(msisdn)}")

    def verify(self, token: str) -> str | None:
        """The number ``token`` is the credential of; None when it is not one of ours."""
        msisdn, dot, mac = token.partition(".")
        if not dot or not _is_msisdn(msisdn):
            return None
        # Constant time: the MAC must not be guessable byte by byte from response times.
        if not hmac.compare_digest(mac.encode(), self._mac(msisdn).encode()):
            return None
        return msisdn

    def caller(self, authorization: str | None) -> str | None:
        """The number an ``Authorization: Handset ...`` header proves; None otherwise."""
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != SCHEME.lower() or not token.strip() or not token.isascii():
            return None
        return self.verify(token.strip())

    def _mac(self, msisdn: str) -> str:
        digest = hmac.new(self._key.reveal(), _CONTEXT + msisdn.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def __repr__(self) -> str:
        return f"HandsetKey({REDACTED})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a key cannot be serialised")


def _is_msisdn(text: str) -> bool:
    return 0 < len(text) <= _msisdn_digits_max and text.isascii() and text.isdigit()
