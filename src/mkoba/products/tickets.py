"""Care tickets: a customer opens one from the phone; staff note, assign and resolve it.

``open_ticket`` comes from the phone itself (USSD: My Account, Contact Us; an SMS to
the operator; the native API with the PIN): a category of ``ticket_book.CATEGORIES``
that a customer may open, and what happened, in words. A customer has a few open at
most. The customer is told the number and when to expect an answer.

``note_ticket``, ``assign_ticket`` and ``resolve_ticket`` come only from the operator
console (``Proof.CONSOLE``). Resolving one tells the customer by SMS, with the
resolution in words (GSM-7, short enough for one message). A reversal's ticket is
closed by the reversal's decision, not by hand.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.messages import gsm7
from mkoba.parties import OPERATOR_ID
from mkoba.processor.context import Context
from mkoba.processor.plan import Note, Record, Refused
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response
from mkoba.products import ticket_book
from mkoba.products.common import console_staff
from mkoba.products.ticket_book import CATEGORIES, Ticket

# A resolution the customer reads by SMS is at most this long (one message with the rest).
resolution_chars_max = 100


def _words(text: str, name: str, limit: int) -> str:
    words = " ".join(text.split())
    if len(words) > limit:
        raise Refused(Code.INVALID_INPUT, f"{name}: at most {limit} characters")
    return words


class OpenTicket:
    """A customer asks customer care for help."""

    name = "open_ticket"
    # The phone itself (a USSD or SMS session), or the PIN.
    proof = Proof.PHONE

    async def run(self, ctx: Context) -> Record:
        """Check the category and the count of open ones; open it; tell the customer."""
        party = ctx.initiator()
        await ctx.authenticate(party)
        command = ctx.command_as(commands.TicketOpen)
        customer = [name for name, kind in CATEGORIES.items() if kind.customer]
        if command.category not in customer:
            raise Refused(Code.INVALID_INPUT, f"category: one of {', '.join(customer)}")
        text = _words(command.text, "text", ticket_book.text_chars_max)
        store = ctx.services.store
        if await asyncio.to_thread(ticket_book.open_count, store, party.id) >= (
            ticket_book.open_per_party_max
        ):
            raise Refused(
                Code.NOT_ALLOWED,
                "You have requests open already: customer care will answer them first.",
            )
        number = ctx.services.counter.next()
        ticket = ticket_book.new(
            number,
            party.id,
            party.msisdn or "",
            command.category,
            str(ctx.request.channel),
            text,
            ctx.now,
        )
        due = dt.datetime.fromtimestamp(ticket.due / 1e9, ctx.profile.timezone)
        when = due.strftime("%d/%m/%y %H:%M")
        response = Response(
            ctx.request.id,
            Code.OK,
            f"Request {ticket.id} is open. Customer care will answer by {when}.",
            None,
            {
                "ticket": ticket.id,
                "category": ticket.category,
                "due": ticket.due,
                "answer_by": when,
            },
        )
        notes: tuple[Note, ...] = ()
        if party.msisdn:
            values = {"ticket": str(ticket.id), "due": when}
            notes = (Note(party.msisdn, party.language, "ticket.opened", values),)
        return Record(response, party.id, notes=notes, rows=(ticket_book.new_row(ticket),))


class _TicketWork:
    """A member of staff works a ticket (the console's policy says who)."""

    name = ""
    proof = Proof.CONSOLE

    async def run(self, ctx: Context) -> Record:
        """Find the ticket, check it is open, and change it."""
        staff = console_staff(ctx)
        command = ctx.command_as(commands.TicketWork)
        if not command.ticket.isdigit() or len(command.ticket) > 18:
            raise Refused(Code.INVALID_INPUT, "ticket: the request's number")
        found = await asyncio.to_thread(ticket_book.get, ctx.services.store, int(command.ticket))
        if found is None:
            raise Refused(Code.INVALID_INPUT, f"There is no request {command.ticket}.")
        if found.state != ticket_book.OPEN:
            raise Refused(Code.NOT_ALLOWED, f"Request {found.id} is {found.state} already.")
        return self.work(ctx, staff.maker, found, command)

    def work(self, ctx: Context, by: str, ticket: Ticket, command: commands.TicketWork) -> Record:
        """The change to the ticket (each kind of work its own)."""
        raise NotImplementedError


class NoteTicket(_TicketWork):
    """A note on a ticket, for the next member of staff who reads it."""

    name = "note_ticket"

    def work(self, ctx: Context, by: str, ticket: Ticket, command: commands.TicketWork) -> Record:
        """Keep the note."""
        text = _words(command.text, "text", ticket_book.text_chars_max)
        if not text:
            raise Refused(Code.INVALID_INPUT, "text: what to note")
        response = Response(ctx.request.id, Code.OK, f"Noted on request {ticket.id}.")
        row = ticket_book.note_row(ticket.id, ctx.now, by, text)
        return Record(response, OPERATOR_ID, rows=(row,))


class AssignTicket(_TicketWork):
    """Give a ticket to a member of staff (by username), or to nobody ('')."""

    name = "assign_ticket"

    def work(self, ctx: Context, by: str, ticket: Ticket, command: commands.TicketWork) -> Record:
        """Change who holds it, and note who did."""
        to = command.to.strip().lower()
        if len(to) > 64 or not all(c.isalnum() or c in "._@-" for c in to):
            raise Refused(Code.INVALID_INPUT, "to: a staff username")
        changed = ticket._replace(assigned=to, updated=ctx.now)
        note = ticket_book.note_row(ticket.id, ctx.now, by, f"Assigned to {to or 'nobody'}.")
        response = Response(
            ctx.request.id, Code.OK, f"Request {ticket.id} is with {to or 'nobody'}."
        )
        return Record(response, OPERATOR_ID, rows=(ticket_book.changed_row(changed), note))


class ResolveTicket(_TicketWork):
    """Close a ticket with what was done; the customer is told by SMS."""

    name = "resolve_ticket"

    def work(self, ctx: Context, by: str, ticket: Ticket, command: commands.TicketWork) -> Record:
        """Close it, note it, tell the customer."""
        if ticket.category == "reversal":
            raise Refused(
                Code.NOT_ALLOWED, "Decide the reversal: its request closes with the decision."
            )
        text = _words(command.text, "text", resolution_chars_max)
        if not text:
            raise Refused(Code.INVALID_INPUT, "text: what was done, as the customer will read it")
        if not gsm7.is_gsm7(text):
            raise Refused(Code.INVALID_INPUT, "text: letters, digits and common punctuation only")
        changed = ticket._replace(
            state=ticket_book.RESOLVED, resolution=text, resolved=ctx.now, updated=ctx.now
        )
        rows = (
            ticket_book.changed_row(changed),
            ticket_book.note_row(ticket.id, ctx.now, by, text),
        )
        notes: tuple[Note, ...] = ()
        party = ctx.directory.get(ticket.party_id)
        if ticket.msisdn and party is not None:
            values = {"ticket": str(ticket.id), "resolution": text}
            notes = (Note(ticket.msisdn, party.language, "ticket.resolved", values),)
        response = Response(ctx.request.id, Code.OK, f"Request {ticket.id} is resolved.")
        return Record(response, OPERATOR_ID, notes=notes, rows=rows)
