"""PIN resets by care as the parties' audit trail records them: R8's second signal.

A reset by care leaves an ``audit_log`` row (``pin_admin.ResetPin``); the risk rules
remember the recent ones, and rebuild them from these rows at start.
"""

from __future__ import annotations

from typing import Any, Protocol

PIN_RESET_ACTION = "pin_reset"


class Readable(Protocol):
    """What can be queried (a store, a snapshot)."""

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of ``sql``."""
        ...


def pin_resets_since(store: Readable, since: int) -> list[tuple[int, int]]:
    """``(party id, ns)`` of each PIN reset by care since ``since`` (ns), oldest first."""
    rows = store.query(
        "SELECT subject_id, at FROM audit_log WHERE action = ? AND at >= ? ORDER BY at",
        (PIN_RESET_ACTION, since),
    )
    return [(int(party_id), int(at)) for party_id, at in rows]
