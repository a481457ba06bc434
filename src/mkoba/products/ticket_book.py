"""The care ticket book: complaints and requests, their queue, SLA clock, notes and outcome.

A customer opens a ticket from the phone (USSD: My Account, Contact Us; or an SMS to
the operator); asking for a reversal opens one too, which the reversal's decision
closes. Each category has its queue (first-line care, the back office, compliance)
and a clock: the ticket is due that many hours after it was opened. Staff note,
assign and resolve tickets in the console, through TranProc, which writes this book
(one owner); the customer is told by SMS when theirs is resolved.

A ticket's number is a request number of TranProc's (unique, increasing): a reversal's
ticket has the number of the request that held the money, so its decision knows it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, NamedTuple

from mkoba.ledger import Store, Write, WriteMode
from mkoba.ports import TicketView

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id BIGINT PRIMARY KEY,
    party_id BIGINT NOT NULL,
    msisdn TEXT NOT NULL,
    category TEXT NOT NULL,
    queue TEXT NOT NULL,
    state TEXT NOT NULL,
    subject TEXT NOT NULL,
    channel TEXT NOT NULL,
    text TEXT NOT NULL,
    assigned TEXT NOT NULL,
    resolution TEXT NOT NULL,
    opened BIGINT NOT NULL,
    due BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_queue ON tickets (state, queue, due);
CREATE INDEX IF NOT EXISTS tickets_party ON tickets (party_id, opened);
CREATE TABLE IF NOT EXISTS ticket_notes (
    ticket_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (ticket_id, at, author)
);
"""
MIGRATION = "tickets-0001"

OPEN = "open"
RESOLVED = "resolved"
# What a customer or a note may say, at most.
text_chars_max = 500
# Tickets one customer may have open at once.
open_per_party_max = 3
_HOUR_NS = 3600 * 1_000_000_000


class Category(NamedTuple):
    """A kind of ticket: its queue, its clock, and whether a customer may open one."""

    queue: str
    sla_hours: int
    customer: bool


# The categories, in the order the menu offers them.
CATEGORIES = {
    "transaction": Category("care_l1", 24, True),
    "pin_account": Category("care_l1", 4, True),
    "fraud": Category("compliance", 2, True),
    "other": Category("care_l1", 72, True),
    # Opened by a reversal request; closed by its decision.
    "reversal": Category("care_l2", 24, False),
}
QUEUES = ("care_l1", "care_l2", "compliance")


# One type for a ticket, the book's and the console's (``notes`` only when one is read).
Ticket = TicketView

_COLUMNS = tuple(name for name in Ticket._fields if name != "notes")
_INTS = frozenset({"id", "party_id", "opened", "due", "resolved", "updated"})


def new(
    number: int,
    party_id: int,
    msisdn: str,
    category: str,
    channel: str,
    text: str,
    now: int,
    subject: str = "",
) -> Ticket:
    """A new open ticket of ``category``, due when its clock says."""
    kind = CATEGORIES[category]
    due = now + kind.sla_hours * _HOUR_NS
    return Ticket(
        number,
        party_id,
        msisdn,
        category,
        kind.queue,
        OPEN,
        subject,
        channel,
        text,
        "",
        "",
        now,
        due,
        0,
        now,
    )


def new_row(ticket: Ticket) -> Write:
    """A new ticket's row (an upsert: a batch decided again writes it again)."""
    values = tuple(getattr(ticket, name) for name in _COLUMNS)
    return Write("tickets", _COLUMNS, values, ("id",), WriteMode.UPSERT)


def changed_row(ticket: Ticket) -> Write:
    """A ticket's row after staff worked on it."""
    return Write(
        "tickets",
        ("id", "state", "assigned", "resolution", "resolved", "updated"),
        (
            ticket.id,
            ticket.state,
            ticket.assigned,
            ticket.resolution,
            ticket.resolved,
            ticket.updated,
        ),
        ("id",),
        WriteMode.UPDATE,
    )


def note_row(ticket_id: int, at: int, author: str, text: str) -> Write:
    """A note on a ticket."""
    return Write(
        "ticket_notes",
        ("ticket_id", "at", "author", "text"),
        (ticket_id, at, author, text),
        ("ticket_id", "at", "author"),
        WriteMode.UPSERT,
    )


def resolved_row(ticket_id: int, resolution: str, now: int) -> Write:
    """A ticket closed by what it was about (a reversal decided), whoever decided it."""
    return Write(
        "tickets",
        ("id", "state", "resolution", "resolved", "updated"),
        (ticket_id, RESOLVED, resolution, now, now),
        ("id",),
        WriteMode.UPDATE,
    )


def _ticket(row: tuple[Any, ...]) -> Ticket:
    values = {
        name: int(value) if name in _INTS else str(value)
        for name, value in zip(_COLUMNS, row, strict=True)
    }
    return Ticket(**values)  # type: ignore[arg-type]


def get(store: Store, ticket_id: int) -> Ticket | None:
    """The ticket with this number, or None."""
    rows = store.query(f"SELECT {', '.join(_COLUMNS)} FROM tickets WHERE id = ?", (ticket_id,))
    return _ticket(rows[0]) if rows else None


def open_count(store: Store, party_id: int) -> int:
    """How many tickets a party has open."""
    rows = store.query(
        "SELECT COUNT(*) FROM tickets WHERE party_id = ? AND state = ?", (party_id, OPEN)
    )
    return int(rows[0][0])


def listing(store: Store, state: str, queue: str, limit: int) -> list[Ticket]:
    """Tickets in ``state`` (and ``queue`` when given), the ones due first."""
    where, params = "state = ?", [state]
    if queue:
        where += " AND queue = ?"
        params.append(queue)
    rows = store.query(
        f"SELECT {', '.join(_COLUMNS)} FROM tickets WHERE {where} ORDER BY due, id LIMIT ?",
        (*params, limit),
    )
    return [_ticket(row) for row in rows]


def of_party(store: Store, party_id: int, limit: int) -> list[Ticket]:
    """A party's newest tickets."""
    rows = store.query(
        f"SELECT {', '.join(_COLUMNS)} FROM tickets WHERE party_id = ?"
        " ORDER BY opened DESC, id DESC LIMIT ?",
        (party_id, limit),
    )
    return [_ticket(row) for row in rows]


def notes(store: Store, ticket_id: int) -> list[tuple[int, str, str]]:
    """A ticket's notes, oldest first: when, who, what."""
    rows = store.query(
        "SELECT at, author, text FROM ticket_notes WHERE ticket_id = ? ORDER BY at, author",
        (ticket_id,),
    )
    return [(int(at), str(author), str(text)) for at, author, text in rows]


class Desk:
    """The book as the operator console reads it (``ports.Tickets``)."""

    def __init__(self, store: Callable[[], Store]) -> None:
        self.store = store

    async def get(self, ticket_id: int) -> TicketView | None:
        """One ticket with its notes, or None."""
        found = await asyncio.to_thread(get, self.store(), ticket_id)
        if found is None:
            return None
        written = await asyncio.to_thread(notes, self.store(), ticket_id)
        return _view(found, tuple(written))

    async def queue(self, state: str, queue: str, limit: int) -> list[TicketView]:
        """Tickets in a state (and queue), the ones due first."""
        found = await asyncio.to_thread(listing, self.store(), state, queue, limit)
        return [_view(ticket, ()) for ticket in found]

    async def of_party(self, party_id: int, limit: int) -> list[TicketView]:
        """A party's newest tickets."""
        found = await asyncio.to_thread(of_party, self.store(), party_id, limit)
        return [_view(ticket, ()) for ticket in found]


def _view(ticket: Ticket, written: tuple[tuple[int, str, str], ...]) -> TicketView:
    return ticket._replace(notes=written)
