"""Secret message bodies: sealed in the outbox table, opened only to hand them over.

A temporary PIN or a voucher code must reach the owner's phone, so it has to be
in an SMS, but never in the database in clear. Such a body is sealed (AES-GCM
under the transport key, bound to its outbox row) when the commit writes it,
opened by the sender at the moment it hands the message to the gateway, and
scrubbed from the row once handed over.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mkoba.parties.secrets import SecretKey

SEALED = "sealed:"
SCRUBBED = "[secure: sent]"


def seal_body(body: str, key: SecretKey, row_id: int) -> str:
    """``body`` encrypted for outbox row ``row_id``."""
    nonce = secrets.token_bytes(12)
    blob = AESGCM(key.reveal()).encrypt(nonce, body.encode(), _context(row_id))
    return SEALED + base64.b64encode(nonce + blob).decode()


def is_sealed(stored: str) -> bool:
    """Whether a stored body is sealed."""
    return stored.startswith(SEALED)


def open_body(stored: str, key: SecretKey, row_id: int) -> str:
    """The clear body of a stored one (unsealed bodies come back as they are).

    Raises ``ValueError`` when a sealed body was tampered with or moved to another row.
    """
    if not is_sealed(stored):
        return stored
    raw = base64.b64decode(stored[len(SEALED) :])
    try:
        return AESGCM(key.reveal()).decrypt(raw[:12], raw[12:], _context(row_id)).decode()
    except InvalidTag:
        raise ValueError(f"outbox row {row_id}: the sealed body does not open") from None


def _context(row_id: int) -> bytes:
    return f"outbox:{row_id}".encode()
