"""``/staff/v1/tickets``: the care queues, each ticket with its clock and notes.

Tickets are opened by customers (USSD, SMS, the API) and by reversal requests; staff
work them with staff commands (``note_ticket``, ``assign_ticket``, ``resolve_ticket``
through ``/staff/v1/commands``). The queue lists the open ones due first, with how long
is left (negative: overdue). Names and numbers are masked as the customer 360 masks
them; every look is audited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.parties import local_msisdn, mask_msisdn
from mkoba.ports import TicketView
from mkoba.staff.policy import Mode

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

queue_limit_max = 500


class NoteOut(BaseModel):
    """A note on a ticket."""

    at: int
    author: str
    text: str


class TicketOut(BaseModel):
    """A care ticket and its clock."""

    id: int
    party_id: int
    phone: str
    category: str
    queue: str
    state: str
    subject: str
    channel: str
    text: str
    assigned: str
    resolution: str
    opened: int
    due: int
    resolved: int
    # Seconds left before it is due (negative: overdue); 0 once resolved.
    left_s: int
    notes: list[NoteOut]


def ticket_out(console: ConsoleChannel, who: Caller, ticket: TicketView, now_ns: int) -> TicketOut:
    """A ticket as ``who`` may see it."""
    unmasked = console.policy.may(who.account.role, "customer_unmasked", Mode.VIEW)
    phone = ""
    if ticket.msisdn:
        phone = local_msisdn(ticket.msisdn) if unmasked else mask_msisdn(ticket.msisdn)
    left = (ticket.due - now_ns) // 1_000_000_000 if ticket.state == "open" else 0
    fields = {name: value for name, value in ticket._asdict().items() if name != "msisdn"}
    fields["notes"] = [
        NoteOut(at=at, author=author, text=text) for at, author, text in ticket.notes
    ]
    return TicketOut(**fields, phone=phone, left_s=left)


def may_see_tickets(console: ConsoleChannel, who: Caller) -> None:
    """``Refusal`` unless ``who``'s role has a part in care tickets."""
    if not console.policy.sees(who.account.role, "tickets"):
        raise Refusal(403, "Your role has no part in care tickets.")


def router(console: ConsoleChannel) -> APIRouter:
    """The ticket routes over ``console``."""
    api = APIRouter(prefix="/staff/v1/tickets", tags=["tickets"])

    @api.get("", response_model=list[TicketOut])
    async def queue(
        http: Request,
        state: Literal["open", "resolved"] = "open",
        queue: Literal["care_l1", "care_l2", "compliance", ""] = "",
        limit: int = Query(100, ge=1, le=queue_limit_max),
    ) -> list[TicketOut]:
        """Tickets in a state (and queue), the ones due first."""
        who = await caller(console, http)
        may_see_tickets(console, who)
        found = await console.reads.tickets.queue(state, queue, limit)
        detail: dict[str, object] = {"state": state, "queue": queue, "rows": len(found)}
        await record(console, who, origin(http), "tickets.list", detail=detail)
        now = console.ports.clock()
        return [ticket_out(console, who, ticket, now) for ticket in found]

    @api.get("/{ticket_id}", response_model=TicketOut, responses={404: {}})
    async def one(ticket_id: int, http: Request) -> TicketOut:
        """One ticket with its notes."""
        who = await caller(console, http)
        may_see_tickets(console, who)
        found = await console.reads.tickets.get(ticket_id)
        if found is None:
            raise Refusal(404, f"There is no request {ticket_id}.")
        await record(console, who, origin(http), "tickets.view", entity=f"ticket:{ticket_id}")
        return ticket_out(console, who, found, console.ports.clock())

    return api
