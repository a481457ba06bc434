"""The email code book: the one-time codes that prove a customer reads an address.

A customer asks to register an address; mkoba emails a fresh code to it and keeps
only a keyed digest of the code, bound to the customer, the phone that asked and the
address (``digest``). One pending code per customer: a new one replaces the last. A
code lives ``code_life_s`` and allows ``code_tries_max`` wrong tries (counted with the
request's outcome, so a refused try is durable before it is answered). TranProc writes
this book (the products' table), through the products in ``email_statements.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import NamedTuple

from mkoba.ledger import Store, Write, WriteMode
from mkoba.parties import SecretKey

SCHEMA = """
CREATE TABLE IF NOT EXISTS email_codes (
    party_id BIGINT PRIMARY KEY,
    msisdn TEXT NOT NULL,
    address TEXT NOT NULL,
    digest TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
"""
MIGRATION = "email-codes-0001"

# Six digits, typed on a keypad; ten minutes to type them; three wrong tries.
code_digits = 6
code_life_s = 600
code_tries_max = 3
# Codes one customer may have sent in a day (each one an email to any address typed).
codes_per_day = 3


class Pending(NamedTuple):
    """A code sent and not yet used: for whom, from which phone, to which address."""

    party_id: int
    msisdn: str
    address: str
    digest: str
    created: int
    expires: int

    def tries_kind(self) -> str:
        """The daily allowance that counts this code's wrong tries (one per code)."""
        return f"email_code_tries:{self.created}"


def new_code() -> str:
    """A fresh random code."""
    return f"{secrets.randbelow(10**code_digits):0{code_digits}d}"


def digest(key: SecretKey, party_id: int, msisdn: str, address: str, code: str) -> str:
    """The stored form of a code: bound to its customer, phone and address; useless alone."""
    message = f"email-code:{party_id}:{msisdn}:{address}:{code}".encode()
    return hmac.new(key.reveal(), message, hashlib.sha256).hexdigest()


def matches(key: SecretKey, pending: Pending, msisdn: str, code: str) -> bool:
    """Whether ``code``, typed on ``msisdn``, is the pending one (in constant time)."""
    typed = digest(key, pending.party_id, msisdn, pending.address, code)
    return hmac.compare_digest(typed, pending.digest)


def pending_row(pending: Pending) -> Write:
    """A newly sent code (replacing any earlier one of the customer)."""
    return Write("email_codes", Pending._fields, tuple(pending), ("party_id",), WriteMode.UPSERT)


def used_row(party_id: int) -> Write:
    """A code used up: it expires now, so it can never be typed again."""
    return Write(
        "email_codes", ("party_id", "expires"), (party_id, 0), ("party_id",), WriteMode.UPDATE
    )


def get(store: Store, party_id: int) -> Pending | None:
    """The customer's pending code, if any (expired or not)."""
    rows = store.query(
        f"SELECT {', '.join(Pending._fields)} FROM email_codes WHERE party_id = ?", (party_id,)
    )
    if not rows:
        return None
    party, msisdn, address, code_digest, created, expires = rows[0]
    return Pending(
        int(party), str(msisdn), str(address), str(code_digest), int(created), int(expires)
    )
