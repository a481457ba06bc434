"""Secret message bodies: sealed in the outbox table, opened only to hand them over.

A temporary PIN or a voucher code must reach the owner's phone, so it has to be
in an SMS, but never in the database in clear. Such a body is sealed (AES-GCM
under the transport key, bound to its outbox row) when the commit writes it,
opened by the sender at the moment it hands the message to the gateway, and
scrubbed from the row once handed over.

``seal_text`` and ``open_text`` are the same sealing bound to another context: the
processor seals a secret note's values with them while its delivery is awaited
(``processor/settlement.py``), so the note is never in clear there either.
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
    return seal_text(body, key, _context(row_id))


def seal_text(text: str, key: SecretKey, context: str) -> str:
    """``text`` encrypted under ``key``, opening only with the same ``context``."""
    assert context, "a sealed text is bound to a context"
    nonce = secrets.token_bytes(12)
    blob = AESGCM(key.reveal()).encrypt(nonce, text.encode(), context.encode())
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
    try:
        return open_text(stored, key, _context(row_id))
    except ValueError:
        raise ValueError(f"outbox row {row_id}: the sealed body does not open") from None


def open_text(stored: str, key: SecretKey, context: str) -> str:
    """The clear text of ``seal_text``'s output for ``context``.

    Raises ``ValueError`` when it is not sealed, was tampered with, or was sealed for
    another context (or under another key).
    """
    if not is_sealed(stored):
        raise ValueError(f"{context}: not a sealed text")
    try:
        raw = base64.b64decode(stored[len(SEALED) :], validate=True)
    except ValueError:
        raise ValueError(f"{context}: the sealed text is not base64") from None
    try:
        return AESGCM(key.reveal()).decrypt(raw[:12], raw[12:], context.encode()).decode()
    except (InvalidTag, ValueError):
        raise ValueError(f"{context}: the sealed text does not open") from None


def _context(row_id: int) -> str:
    return f"outbox:{row_id}"
