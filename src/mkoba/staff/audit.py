"""The staff audit trail: append-only, each entry chained to the one before with a keyed hash.

Every staff command and every view of personal data is an entry: who (the staff id,
the username tried, the role), from where, what, on what, the outcome and the details.
Entry ``n`` stores ``h(n) = HMAC-SHA256(audit key, h(n-1) || canonical(entry n))``. The
key is kept outside the database (``var/keys/audit.key``), so someone who can write
the table can edit, delete or insert an entry but cannot make the chain agree again;
``verify`` walks the chain and names the first entry that breaks it. ``head`` is the
last entry's number and hash, to export each day (to the auditor, or print it in the
finance pack) so that even a rewrite of the whole table with the key shows.

Entries are appended one at a time by the one process that serves the console
(``Trail.append`` holds a lock over reading the head and committing the entry).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from mkoba.ledger import Write
from mkoba.parties import SecretKey, load_or_create_key
from mkoba.staff.accounts import Reader

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_audit (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_id BIGINT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    origin TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
"""
MIGRATION = "staff-audit-0001"
# What the auditor filters by, newest first.
INDEXES = """
CREATE INDEX IF NOT EXISTS staff_audit_actor ON staff_audit (actor, seq);
CREATE INDEX IF NOT EXISTS staff_audit_entity ON staff_audit (entity, seq);
CREATE INDEX IF NOT EXISTS staff_audit_action ON staff_audit (action, seq);
CREATE INDEX IF NOT EXISTS staff_audit_at ON staff_audit (at);
"""
INDEXES_MIGRATION = "staff-audit-0002-indexes"
GENESIS = "0" * 64
_FIELDS = ("seq", "at", "actor_id", "actor", "role", "origin", "action", "entity", "outcome")


class Entry(NamedTuple):
    """One audited event."""

    seq: int
    at: int
    actor_id: int
    actor: str
    role: str
    origin: str
    action: str
    entity: str
    outcome: str
    detail: str  # canonical JSON
    prev_hash: str
    hash: str


class Head(NamedTuple):
    """The chain's last entry: export it daily."""

    seq: int
    hash: str


class Broken(NamedTuple):
    """The first entry the chain does not vouch for, and why."""

    seq: int
    reason: str


def key_path(keys_dir: Path) -> Path:
    """Where the audit key is kept."""
    return keys_dir / "audit.key"


def audit_key(keys_dir: Path) -> SecretKey:
    """The audit key, made on first use (outside the database)."""
    return load_or_create_key(key_path(keys_dir))


def canonical(detail: dict[str, Any]) -> str:
    """Details as the chain hashes them: sorted keys, compact, ASCII."""
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def chain_hash(key: SecretKey, prev_hash: str, entry: Entry) -> str:
    """``entry``'s hash after ``prev_hash``."""
    fields = [str(getattr(entry, name)) for name in _FIELDS]
    body = "\x1f".join([prev_hash, *fields, entry.detail]).encode()
    return hmac.new(key.reveal(), body, hashlib.sha256).hexdigest()


def entry_write(entry: Entry) -> Write:
    """An entry as a row (only ever inserted)."""
    return Write("staff_audit", Entry._fields, tuple(entry))


def head(store: Reader) -> Head:
    """The last entry's number and hash (0 and the genesis hash for an empty trail)."""
    rows = store.query("SELECT seq, hash FROM staff_audit ORDER BY seq DESC LIMIT 1")
    return Head(int(rows[0][0]), str(rows[0][1])) if rows else Head(0, GENESIS)


def verify(store: Reader, key: SecretKey, batch: int = 10_000) -> tuple[int, Broken | None]:
    """Walk the whole chain: how many entries were checked, and the first broken one."""
    expected_seq, prev = 1, GENESIS
    checked = 0
    while True:
        rows = store.query(
            f"SELECT {', '.join(Entry._fields)} FROM staff_audit"
            " WHERE seq >= ? ORDER BY seq LIMIT ?",
            (expected_seq, batch),
        )
        for row in rows:
            entry = _entry(row)
            if entry.seq != expected_seq:
                return checked, Broken(expected_seq, f"entry {expected_seq} is missing")
            if entry.prev_hash != prev:
                return checked, Broken(entry.seq, "it does not follow the entry before it")
            if not hmac.compare_digest(chain_hash(key, prev, entry), str(entry.hash)):
                return checked, Broken(entry.seq, "its content does not match its hash")
            prev, expected_seq, checked = str(entry.hash), expected_seq + 1, checked + 1
        if len(rows) < batch:
            return checked, None


class Filter(NamedTuple):
    """What the auditor looks for; empty fields match everything."""

    actor: str = ""
    action: str = ""
    entity: str = ""
    outcome: str = ""
    since: int = 0
    until: int = 0
    # Only entries before this one (paging backwards); 0: from the newest.
    before: int = 0


def entries(store: Reader, found: Filter, limit: int) -> list[Entry]:
    """The newest ``limit`` entries matching ``found``, newest first."""
    where: list[str] = []
    params: list[object] = []
    for column in ("actor", "action", "entity", "outcome"):
        value = getattr(found, column)
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if found.since:
        where.append("at >= ?")
        params.append(found.since)
    if found.until:
        where.append("at < ?")
        params.append(found.until)
    if found.before:
        where.append("seq < ?")
        params.append(found.before)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = store.query(
        f"SELECT {', '.join(Entry._fields)} FROM staff_audit{clause} ORDER BY seq DESC LIMIT ?",
        (*params, limit),
    )
    return [_entry(row) for row in rows]


def entries_since(store: Reader, action: str, since: int, limit: int) -> list[Entry]:
    """The entries of ``action`` made at ``since`` (ns) or later, oldest first (at most
    ``limit``): what a rule that counts them starts from (R12's profile views)."""
    assert limit > 0
    rows = store.query(
        f"SELECT {', '.join(Entry._fields)} FROM staff_audit WHERE at >= ? AND action = ?"
        " ORDER BY seq LIMIT ?",
        (since, action, limit),
    )
    return [_entry(row) for row in rows]


def _entry(row: Sequence[Any]) -> Entry:
    seq, at, actor_id, *texts = row
    return Entry(int(seq), int(at), int(actor_id), *(str(text) for text in texts))


class Trail:
    """Appends entries in order: one at a time, each durable before the next."""

    def __init__(
        self,
        store: Reader,
        submit: Callable[[Sequence[Write]], Awaitable[None]],
        key: SecretKey,
    ) -> None:
        self.store = store
        self.submit = submit
        self.key = key
        self._lock = asyncio.Lock()
        self._head: Head | None = None

    async def append(
        self,
        at: int,
        action: str,
        outcome: str,
        *,
        actor_id: int = 0,
        actor: str = "",
        role: str = "",
        origin: str = "",
        entity: str = "",
        detail: dict[str, Any] | None = None,
    ) -> Entry:
        """Record one event; returns it once it is durable."""
        async with self._lock:
            if self._head is None:
                self._head = await asyncio.to_thread(head, self.store)
            last = self._head
            entry = Entry(
                last.seq + 1,
                at,
                actor_id,
                actor,
                role,
                origin,
                action,
                entity,
                outcome,
                canonical(detail or {}),
                last.hash,
                "",
            )
            entry = entry._replace(hash=chain_hash(self.key, last.hash, entry))
            try:
                await self.submit([entry_write(entry)])
            except BaseException:
                self._head = None  # read it again: the entry may or may not be in
                raise
            self._head = Head(entry.seq, entry.hash)
            return entry
