"""A ledger's identity: a random number made once, with the ledger's tables.

The bus between fronts and cores carries it (``bus.jetstream.NatsBus.bind``), so a
process started on one ledger's database cannot join another ledger's bus prefix.
"""

from __future__ import annotations

import secrets

from mkoba.ledger.store.base import Store

_KEY = "ledger_id"


def ledger_id(store: Store) -> str | None:
    """The ledger's identity (16 hex digits), or None before a core has made it."""
    rows = store.query("SELECT value FROM ledger_meta WHERE key = ?", (_KEY,))
    return None if not rows else f"{int(rows[0][0]):016x}"


def ensure_ledger_id(store: Store) -> str:
    """The ledger's identity, made now if this ledger has none yet (the writer's store)."""
    found = ledger_id(store)
    if found is not None:
        return found
    store.execute(
        "INSERT INTO ledger_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
        (_KEY, secrets.randbits(62) + 1),
    )
    made = ledger_id(store)
    assert made is not None
    return made
