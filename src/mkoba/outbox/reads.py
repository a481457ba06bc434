"""The outbox's table, read: what channels may ask of the messages queued and sent.

The ``outbox`` table's rows are written by TranProc (the notes it commits with
the money) and by the sender (each attempt's outcome). Channels that need to
know about a message they handed over read it here, never with SQL of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Readable(Protocol):
    """A store, a snapshot or a channel's tables: anything that answers a query."""

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows of a read-only query."""
        ...


def highest_id(store: Readable, at_least: int) -> int:
    """The highest message id at or above ``at_least`` (0 when there is none)."""
    rows = store.query("SELECT COALESCE(MAX(id), 0) FROM outbox WHERE id >= ?", (at_least,))
    return int(rows[0][0])


def state(store: Readable, message_id: int) -> str | None:
    """A message's state (queued, sent, delivered, undelivered, failed), or None."""
    rows = store.query("SELECT state FROM outbox WHERE id = ?", (message_id,))
    return str(rows[0][0]) if rows else None


def queued_for(store: Readable, request_id: str, reference: str) -> bool:
    """Whether a request's message of kind ``reference`` (a template) is in the outbox."""
    rows = store.query(
        "SELECT 1 FROM outbox WHERE request_id = ? AND reference = ?", (request_id, reference)
    )
    return bool(rows)
