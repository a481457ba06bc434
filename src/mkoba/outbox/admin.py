"""The outbox for an operator's commands: list messages, send some again.

Used by admin commands that run beside (or without) a server, on the store
directly (``mkoba daraja callbacks``). A message sent again moves no money:
only its row goes back to ``queued``, and a running sender picks it up at its
next poll. On a running server the same change goes through its writer
(``requeue_write``), as the operator console sends a callback again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from mkoba.ledger import Write, WriteMode
from mkoba.outbox.reads import Readable


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


class Stored(NamedTuple):
    """A message as an operator reviews it, with its body (as stored: sealed or scrubbed
    bodies stay so)."""

    listed: Listed
    request_id: str
    body: str


_LISTED = "SELECT id, reference, recipient, state, attempts, created FROM outbox"


def page(
    store: Readable, channel: str, state: str, reference: str, limit: int, offset: int = 0
) -> list[Listed]:
    """A page of ``channel``'s messages, newest first (in ``state``, of ``reference``, if given)."""
    where, params = "channel = ?", [channel]
    for column, value in (("state", state), ("reference", reference)):
        if value:
            where += f" AND {column} = ?"
            params.append(value)
    rows = store.query(
        f"{_LISTED} WHERE {where} ORDER BY created DESC, id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return [
        Listed(int(row_id), str(kind), str(to), str(row_state), int(attempts), int(created))
        for row_id, kind, to, row_state, attempts, created in rows
    ]


def request_ids(store: Readable, ids: Sequence[int]) -> dict[int, str]:
    """The request each of ``ids`` belongs to."""
    if not ids:
        return {}
    rows = store.query(
        f"SELECT id, request_id FROM outbox WHERE id IN ({', '.join('?' * len(ids))})",
        tuple(ids),
    )
    return {int(row_id): str(request_id) for row_id, request_id in rows}


def stored(store: Readable, message_id: int, channel: str) -> Stored | None:
    """One message of ``channel`` with its body, or None."""
    rows = store.query(
        "SELECT id, reference, recipient, state, attempts, created, request_id, body"
        " FROM outbox WHERE id = ? AND channel = ?",
        (message_id, channel),
    )
    if not rows:
        return None
    row_id, kind, to, row_state, attempts, created, request_id, body = rows[0]
    listed = Listed(int(row_id), str(kind), str(to), str(row_state), int(attempts), int(created))
    return Stored(listed, str(request_id), str(body))


def requeue_write(message_id: int, now: int) -> Write:
    """The row that queues one message again on a running server (through its writer):
    its attempts start from zero, and the sender takes it at its next poll."""
    columns = ("id", "state", "attempts", "next_attempt", "updated")
    return Write("outbox", columns, (message_id, "queued", 0, now, now), ("id",), WriteMode.UPDATE)
