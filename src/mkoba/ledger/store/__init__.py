"""Stores behind one interface: SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from mkoba.ledger.store.base import (
    Commit,
    Snapshot,
    Store,
    StoredAccount,
    StoreError,
    Write,
    WriteMode,
)

__all__ = [
    "Commit",
    "Snapshot",
    "Store",
    "StoreError",
    "StoredAccount",
    "Write",
    "WriteMode",
    "open_store",
]


def open_store(url: str | Path, *, commit_process: bool = True, lease_s: float = 5.0) -> Store:
    """A store for ``url``: ``postgresql://...`` or a SQLite path / ``sqlite:///path``.

    ``commit_process``: the writer commits in a child process of its own once it
    holds the lease (``commit_child.py``; a SQLite file, or PostgreSQL); False
    keeps the commits on the writer's committer thread.

    ``lease_s``: how long a PostgreSQL writer's lease lasts unrenewed (``lease.py``);
    SQLite's writer holds a file lock instead.

    Raises ``ValueError`` for a URL of any other kind.
    """
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        from mkoba.ledger.store.postgres import PostgresStore

        return PostgresStore(text, lease_s=lease_s, commit_process=commit_process)
    if text.startswith("sqlite:///"):
        text = text.removeprefix("sqlite:///")
    elif "://" in text:
        raise ValueError(f"unsupported store URL {text!r}: use postgresql://... or a file path")
    from mkoba.ledger.store.sqlite import SqliteStore

    return SqliteStore(text, commit_process=commit_process)
