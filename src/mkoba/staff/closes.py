"""The daily close: finance's sign-off of a local day, stored as the pack was, chained.

A close keeps the finance pack as it stood when finance signed it off (its JSON), the
trust bank balance finance gave, their note on the breaks, who and when. Closes are
only ever inserted, one per day, in day order (``seq`` 1, 2, ...). Each stores two
digests:
- ``pack_sha256``: SHA-256 of the stored pack, so anyone holding an exported pack can
  check it is the one signed off;
- ``hash = HMAC-SHA256(audit key, previous close's hash || canonical(close))``, as the
  audit trail chains its entries (``audit.py``): someone who can write the table cannot
  change a close, or drop or insert one, and make the chain agree without the key.
``check`` says what, if anything, is wrong with a stored close.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any, NamedTuple

from mkoba.ledger import Write
from mkoba.parties import SecretKey
from mkoba.staff.accounts import Reader

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_closes (
    seq BIGINT PRIMARY KEY,
    day TEXT NOT NULL UNIQUE,
    closed_at BIGINT NOT NULL,
    staff_id BIGINT NOT NULL,
    staff TEXT NOT NULL,
    role TEXT NOT NULL,
    bank_balance BIGINT NOT NULL,
    note TEXT NOT NULL,
    pack TEXT NOT NULL,
    pack_sha256 TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
"""
MIGRATION = "staff-closes-0001"
GENESIS = "0" * 64
# A note on the breaks is at most this long.
note_chars_max = 2_000
_HASHED = ("seq", "day", "closed_at", "staff_id", "staff", "role", "bank_balance", "note")


class Close(NamedTuple):
    """One day's sign-off (``pack`` is '' when listed without it)."""

    seq: int
    day: str
    closed_at: int
    staff_id: int
    staff: str
    role: str
    bank_balance: int
    note: str
    pack: str
    pack_sha256: str
    prev_hash: str
    hash: str


def pack_digest(pack: str) -> str:
    """The SHA-256 of a stored pack (its JSON text, UTF-8)."""
    return hashlib.sha256(pack.encode("utf-8")).hexdigest()


def close_hash(key: SecretKey, prev_hash: str, close: Close) -> str:
    """``close``'s chained hash after ``prev_hash`` (over its fields and its pack's digest)."""
    fields = [str(getattr(close, name)) for name in _HASHED]
    body = "\x1f".join([prev_hash, *fields, close.pack_sha256]).encode()
    return hmac.new(key.reveal(), body, hashlib.sha256).hexdigest()


def sealed(key: SecretKey, previous: Close | None, close: Close) -> Close:
    """``close`` numbered after ``previous``, with its digests."""
    prev_hash = previous.hash if previous is not None else GENESIS
    numbered = close._replace(
        seq=(previous.seq if previous is not None else 0) + 1,
        pack_sha256=pack_digest(close.pack),
        prev_hash=prev_hash,
    )
    return numbered._replace(hash=close_hash(key, prev_hash, numbered))


def check(key: SecretKey, close: Close, previous: Close | None) -> str | None:
    """Why ``close`` (read with its pack) is not as signed off, or None when it is."""
    assert close.pack or not close.pack_sha256, "read the close with its pack"
    if not hmac.compare_digest(pack_digest(close.pack), close.pack_sha256):
        return "its pack does not match the pack's digest"
    expected_prev = previous.hash if previous is not None else GENESIS
    expected_seq = previous.seq + 1 if previous is not None else 1
    if close.seq != expected_seq:
        return f"close {expected_seq} is missing before it"
    if not hmac.compare_digest(close.prev_hash, expected_prev):
        return "it does not follow the close before it"
    if not hmac.compare_digest(close_hash(key, close.prev_hash, close), close.hash):
        return "its content does not match its hash"
    return None


def close_write(close: Close) -> Write:
    """A close as a row (only ever inserted)."""
    return Write("staff_closes", Close._fields, tuple(close))


_LISTED = ", ".join("'' AS pack" if name == "pack" else name for name in Close._fields)


def last(store: Reader) -> Close | None:
    """The latest close (without its pack), or None."""
    rows = store.query(f"SELECT {_LISTED} FROM staff_closes ORDER BY seq DESC LIMIT 1")
    return _close(rows[0]) if rows else None


def get(store: Reader, day: str) -> Close | None:
    """The close of ``day`` (ISO date), with its pack, or None."""
    rows = store.query(f"SELECT {', '.join(Close._fields)} FROM staff_closes WHERE day = ?", (day,))
    return _close(rows[0]) if rows else None


def by_seq(store: Reader, seq: int) -> Close | None:
    """The close numbered ``seq`` (without its pack), or None."""
    rows = store.query(f"SELECT {_LISTED} FROM staff_closes WHERE seq = ?", (seq,))
    return _close(rows[0]) if rows else None


def listing(store: Reader, before: int, limit: int) -> list[Close]:
    """The newest closes (without their packs), before ``seq`` ``before`` unless 0."""
    where, params = ("WHERE seq < ?", [before]) if before else ("", [])
    rows = store.query(
        f"SELECT {_LISTED} FROM staff_closes {where} ORDER BY seq DESC LIMIT ?",
        (*params, limit),
    )
    return [_close(row) for row in rows]


def _close(row: Sequence[Any]) -> Close:
    seq, day, closed_at, staff_id, staff, role, bank, note, pack, digest, prev, own = row
    return Close(
        int(seq),
        str(day),
        int(closed_at),
        int(staff_id),
        str(staff),
        str(role),
        int(bank),
        str(note),
        str(pack),
        str(digest),
        str(prev),
        str(own),
    )
