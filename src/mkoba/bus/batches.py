"""The fronts' batches a core has committed, kept so that one asked again commits once.

A front's rows (``remote.RemoteRows``) carry a batch id. The core commits a mark
of the batch (table ``bus_batches``) in the same transaction as its rows. A front
that did not hear the answer asks again, flagged: the core that answers (the same,
restarted, or a standby that took over) finds the mark and answers "ok" without
committing the rows a second time (no second callback, no duplicate key).

Marks are kept for ``kept_s``, far longer than any request's deadline (a front
stops asking at its deadline), and pruned now and then by the core.
"""

from __future__ import annotations

from mkoba.ledger import Store, Write

MIGRATION = "bus-0001-batches"
SCHEMA = """
CREATE TABLE IF NOT EXISTS bus_batches (
    batch TEXT PRIMARY KEY,
    at BIGINT NOT NULL
);
"""
# How long a committed batch's mark is kept (ms timestamps in ``at``).
kept_s = 3600
# How often the core prunes the marks older than that.
prune_every_s = 600.0


def migrate(store: Store) -> None:
    """Make the table once (blocking)."""
    store.migrate_script(MIGRATION, SCHEMA)


def mark(batch: str, now_ms: int) -> Write:
    """The row that says ``batch`` committed: in the same commit as the batch's rows."""
    return Write("bus_batches", ("batch", "at"), (batch, now_ms))


def committed(store: Store, batch: str) -> bool:
    """Whether ``batch`` has committed (blocking)."""
    return bool(store.query("SELECT 1 FROM bus_batches WHERE batch = ?", (batch,)))


def prune(store: Store, now_ms: int) -> None:
    """Forget marks older than ``kept_s`` (blocking)."""
    store.execute("DELETE FROM bus_batches WHERE at < ?", (now_ms - kept_s * 1000,))
