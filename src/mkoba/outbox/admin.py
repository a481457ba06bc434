"""The outbox for an operator's commands: list messages, send some again.

Used by admin commands that run beside (or without) a server, on the store
directly (``mkoba daraja callbacks``). A message sent again moves no money:
only its row goes back to ``queued``, and a running sender picks it up at its
next poll.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol


class Executable(Protocol):
    """A store an admin command opened: it reads and executes one statement at a time."""

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows of a read-only query."""
        ...

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run one statement, committed at once."""
        ...


class Listed(NamedTuple):
    """A message as an operator sees it."""

    id: int
    # The template or kind (``stk.callback``, a C2B confirmation...).
    reference: str
    recipient: str
    state: str
    attempts: int
    created: int


def messages(store: Executable, channel: str, state: str, limit: int) -> list[Listed]:
    """The newest messages of ``channel`` (in ``state``, unless it is '')."""
    where, params = "channel = ?", [channel]
    if state:
        where += " AND state = ?"
        params.append(state)
    rows = store.query(
        f"SELECT id, reference, recipient, state, attempts, created FROM outbox WHERE {where}"
        " ORDER BY created DESC LIMIT ?",
        (*params, limit),
    )
    return [
        Listed(int(row_id), str(kind), str(to), str(row_state), int(attempts), int(created))
        for row_id, kind, to, row_state, attempts, created in rows
    ]


def failed(store: Executable, ids: Iterable[int]) -> list[int]:
    """Those of ``ids`` whose message failed for good, in order."""
    chosen = sorted(set(ids))
    if not chosen:
        return []
    rows = store.query(
        f"SELECT id FROM outbox WHERE state = 'failed' AND id IN ({', '.join('?' * len(chosen))})"
        " ORDER BY id",
        tuple(chosen),
    )
    return [int(row[0]) for row in rows]


def requeue(store: Executable, ids: Iterable[int], channel: str, now: int) -> list[int]:
    """Queue again the messages of ``channel`` among ``ids``; the ids queued again.

    Their attempts start from zero; an id of another channel, or of no message,
    is left out of the answer.
    """
    queued: list[int] = []
    for message_id in sorted(set(ids)):
        if not store.query(
            "SELECT 1 FROM outbox WHERE id = ? AND channel = ?", (message_id, channel)
        ):
            continue
        store.execute(
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt = ?, updated = ?"
            " WHERE id = ?",
            (now, now, message_id),
        )
        queued.append(message_id)
    return queued
