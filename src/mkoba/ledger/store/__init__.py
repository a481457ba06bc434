"""Stores behind one interface: SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from mkoba.ledger.store.base import Commit, Snapshot, Store, StoredAccount, StoreError, Write

__all__ = ["Commit", "Snapshot", "Store", "StoreError", "StoredAccount", "Write", "open_store"]


def open_store(url: str | Path) -> Store:
    """A store for ``url``: ``postgresql://...`` or a SQLite path / ``sqlite:///path``.

    Raises ``ValueError`` for a URL of any other kind.
    """
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        from mkoba.ledger.store.postgres import PostgresStore

        return PostgresStore(text)
    if text.startswith("sqlite:///"):
        text = text.removeprefix("sqlite:///")
    elif "://" in text:
        raise ValueError(f"unsupported store URL {text!r}: use postgresql://... or a file path")
    from mkoba.ledger.store.sqlite import SqliteStore

    return SqliteStore(text)
