"""Questions others may ask of the ledger's tables without an engine, and admin writes.

The ledger owns every ``ledger_*`` table; the composition root and the demo ask
these instead of writing SQL of their own. ``execute_write`` is for admin
commands that run on a store directly (not the money path): one ``Write``, in a
transaction of its own, made by the same SQL builder as the writer's batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from mkoba.ledger.store.base import Store, Write
from mkoba.ledger.store.sql import write_params, write_sql


class Readable(Protocol):
    """A store or a snapshot."""

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows of a read-only query."""
        ...


def accounts_besides(store: Readable, known: Sequence[int]) -> int:
    """How many accounts the ledger holds that are not in ``known``."""
    marks = ", ".join("?" for _ in known) or "NULL"
    rows = store.query(
        f"SELECT COUNT(*) FROM ledger_accounts WHERE id NOT IN ({marks})", tuple(known)
    )
    return int(rows[0][0])


def highest_transfer_id(store: Readable, below: int) -> int:
    """The highest transfer id under ``below`` (0 when there is none)."""
    rows = store.query("SELECT COALESCE(MAX(id), 0) FROM ledger_transfers WHERE id < ?", (below,))
    return int(rows[0][0])


def execute_write(store: Store, write: Write) -> None:
    """Apply one row (insert, upsert or update) in a transaction of its own (admin paths)."""
    sql = write_sql(write.table, write.columns, write.keys, write.mode, "?")
    store.execute(sql, write_params(write))
