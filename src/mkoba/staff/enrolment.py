"""Enrolment: a new (or reset) member of staff chooses their own password and TOTP.

No administrator ever sees a member's password or TOTP seed. When a new account or a
credentials reset is approved, the console issues an enrolment token: 256 bits from
the OS's CSPRNG, handed to the member once as a link, and kept here only as its
SHA-256 digest (a token that long needs no key and no slow hash). With it comes a
fresh TOTP seed, sealed with the staff key and bound to the enrolment's id, which
only the enrolment page shows, to whoever holds the token.

A token works once, for ``valid_s`` (72 hours), and only while it is its account's
newest: issuing another (a second reset) ends the ones before it. Enrolling takes
the password (argon2id, the same rules as ``mkoba staff create``) and a first code
from the authenticator, which proves the seed was enrolled; then the account's
credentials are set, the token is spent, and the member signs in as anyone else.

The ``staff_enrolments`` table is this package's.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import NamedTuple

from mkoba.ledger import Write, WriteMode
from mkoba.parties import SecretKey
from mkoba.staff.accounts import Reader, credentials_write, seal, unseal
from mkoba.staff.credentials import accept_totp, hash_password, new_totp_secret

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_enrolments (
    id BIGINT PRIMARY KEY,
    staff_id BIGINT NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    seed_sealed TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    used BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS staff_enrolments_staff ON staff_enrolments (staff_id, id);
"""
MIGRATION = "staff-enrolments-0001"
valid_s = 72 * 60 * 60
# Tokens are 43 characters (32 random bytes): anything much longer is not one.
token_chars_max = 64
_NS = 1_000_000_000


class Enrolment(NamedTuple):
    """An enrolment that still works: whose, the seed to show, and until when."""

    id: int
    staff_id: int
    seed: str
    expires: int


class NotEnrolled(ValueError):
    """An enrolment that did not complete, with the reason for the member."""


def digest(token: str) -> str:
    """How a token is kept and found."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue(key: SecretKey, enrolment_id: int, staff_id: int, now: int) -> tuple[str, Write]:
    """A new token for ``staff_id`` (shown once, never stored) and its row."""
    token = secrets.token_urlsafe(32)
    sealed = seal(key, _context(enrolment_id), new_totp_secret())
    row = Write(
        "staff_enrolments",
        ("id", "staff_id", "digest", "seed_sealed", "created", "expires", "used"),
        (enrolment_id, staff_id, digest(token), sealed, now, now + valid_s * _NS, 0),
    )
    return token, row


def next_id(store: Reader) -> int:
    """The next enrolment's id (allocated under the console's lock)."""
    found = store.query("SELECT COALESCE(MAX(id), 0) FROM staff_enrolments")
    return int(found[0][0]) + 1


def find(store: Reader, key: SecretKey, token: str, now: int) -> Enrolment | None:
    """The enrolment ``token`` opens now, or None (unknown, spent, expired or superseded)."""
    if not token or len(token) > token_chars_max:
        return None
    rows = store.query(
        "SELECT id, staff_id, seed_sealed, expires, used FROM staff_enrolments WHERE digest = ?",
        (digest(token),),
    )
    if not rows:
        return None
    enrolment_id, staff_id, sealed, expires, used = rows[0]
    if int(used) or int(expires) <= now:
        return None
    newest = store.query(
        "SELECT MAX(id) FROM staff_enrolments WHERE staff_id = ?", (int(staff_id),)
    )
    if int(newest[0][0]) != int(enrolment_id):
        return None
    seed = unseal(key, _context(int(enrolment_id)), str(sealed))
    return Enrolment(int(enrolment_id), int(staff_id), seed, int(expires))


def complete(
    key: SecretKey, enrolment: Enrolment, password: str, code: str, at_s: float, now: int
) -> list[Write]:
    """The rows that enrol: the account's credentials and the token spent.

    ``NotEnrolled`` when the code is not the seed's (the authenticator was not set up),
    ``WeakPassword`` when the password policy refuses the password.
    """
    step = accept_totp(enrolment.seed, code, at_s, 0)
    if step is None:
        raise NotEnrolled("That code is not your authenticator's: scan the code again.")
    password_hash = hash_password(password)
    return [
        credentials_write(key, enrolment.staff_id, password_hash, enrolment.seed, step, now),
        Write(
            "staff_enrolments",
            ("id", "used"),
            (enrolment.id, now),
            ("id",),
            WriteMode.UPDATE,
        ),
    ]


def _context(enrolment_id: int) -> str:
    return f"mkoba staff enrolment {enrolment_id}"
