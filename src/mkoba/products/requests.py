"""Request money (the tutor asks the student's parent), decline a request, list my requests.

A request moves no money: it is a row in the request book and an SMS to the
payer with the request's number, committed together with the request that
made it. The payer pays it (``pay_request``) or declines it; unpaid, it lapses
after the profile's ``requests.validity``. Amounts are within send money's
range (paying one is a send). One requester may have at most
``requests.open_max`` open requests, so nobody floods phones with them.
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import requests as commands
from mkoba.parties import Party, PartyKind, PartyState
from mkoba.processor.context import Context
from mkoba.processor.guarded import Guarded, Posting
from mkoba.processor.plan import Note, Record, Refused
from mkoba.processor.request import Response
from mkoba.products import request_book
from mkoba.products.common import display_name, display_number
from mkoba.products.request_book import MoneyRequest
from mkoba.products.vouchers import expiry_text

# A fresh number is drawn again when the payer already has one with it (rare: 10^8).
number_draws_max = 8
# ``my_requests`` lists at most this many requests and bills, of the last 30 days.
listed_max = 50
listed_days = 30


def requests_offered(ctx: Context) -> None:
    """Refuse when the profile in force has money requests off."""
    if not ctx.profile.requests.enabled:
        raise Refused(Code.UNKNOWN_PRODUCT, f"{ctx.profile.name} does not offer money requests")


def note_text(note: str) -> str:
    """A request's note as its SMS quotes it ('' without one)."""
    return f'"{note}" ' if note else ""


def payer_of(ctx: Context, requester: Party, msisdn: str) -> Party:
    """The registered, active customer asked to pay; never the requester."""
    payer = ctx.directory.by_msisdn(msisdn)
    if payer is not None and payer.id == requester.id:
        raise Refused(Code.SAME_ACCOUNT, "You cannot ask yourself for money.")
    if payer is None or payer.state == PartyState.UNREGISTERED:
        raise Refused(Code.RECIPIENT_NOT_REGISTERED, "That number is not registered for M-PESA.")
    if payer.kind != PartyKind.CUSTOMER or not payer.active:
        raise Refused(Code.ACCOUNT_INACTIVE, "That account cannot pay requests.")
    return payer


async def check_open(ctx: Context, requester: Party, adding: int) -> None:
    """Refuse when ``adding`` more requests would pass the requester's open cap."""
    rules = ctx.profile.requests
    opened = await request_book.open_from(ctx.services.store, requester.id, ctx.now)
    if opened + adding > rules.open_max:
        raise Refused(
            Code.NOT_ALLOWED,
            f"You have {opened} open requests; at most {rules.open_max} may wait at once."
            " Wait until some are paid, declined or lapsed.",
        )


async def fresh_number(ctx: Context, payer_id: int, taken: set[str]) -> str:
    """A request number no other request to ``payer_id`` has (nor one in ``taken``)."""
    for _ in range(number_draws_max):
        number = request_book.new_number()
        if number in taken:
            continue
        if not await request_book.to_payer(ctx.services.store, payer_id, number):
            return number
    raise Refused(Code.SYSTEM_BUSY)


class RequestMoney:
    """Ask a registered customer for an amount; they get an SMS with the request's number."""

    name = "request_money"

    async def run(self, ctx: Context) -> Record:
        """Check the payer, the amount and the open cap; then the request's row and SMS."""
        requests_offered(ctx)
        requester = ctx.initiator(PartyKind.CUSTOMER)
        command = ctx.command_as(commands.RequestMoney)
        payer = payer_of(ctx, requester, command.payer)
        ctx.check_amount("send_money", command.amount)
        await check_open(ctx, requester, 1)
        await ctx.verify_pin(requester)
        expires = ctx.now + int(ctx.profile.requests.validity.total_seconds()) * 1_000_000_000
        number = await fresh_number(ctx, payer.id, set())
        request = MoneyRequest(
            ctx.request.id,
            number,
            requester.id,
            payer.id,
            command.amount,
            command.note,
            "",
            ctx.now,
            expires,
            request_book.OPEN,
            "",
            "",
            0,
            ctx.now,
        )
        last_day = expiry_text(ctx, expires)
        note = Note(
            payer.msisdn or "",
            payer.language,
            "request.payer",
            {
                "name": display_name(requester),
                "msisdn": display_number(ctx, requester),
                "amount": ctx.money(command.amount),
                "note": note_text(command.note),
                "number": number,
                "expires": last_day,
            },
        )
        response = Response(
            ctx.request.id,
            Code.OK,
            f"Request {number} for {ctx.money(command.amount)} sent to {display_name(payer)}"
            f" {display_number(ctx, payer)}. It lapses after {last_day}.",
            None,
            {
                "number": number,
                "amount": command.amount,
                "payer": payer.msisdn,
                "payer_name": display_name(payer),
                "expires": expires,
            },
        )
        return Record(
            response,
            requester.id,
            notes=(note,),
            rows=(request_book.request_row(request, ctx.now),),
        )


async def find_open(ctx: Context, payer: Party, number: str) -> MoneyRequest:
    """The open request numbered ``number`` made of ``payer``; ``Refused`` saying why not."""
    if not (number.isdigit() and len(number) == request_book.number_digits):
        raise Refused(
            Code.INVALID_INPUT, f"number: the {request_book.number_digits} digits of the request"
        )
    found = await request_book.to_payer(ctx.services.store, payer.id, number)
    if not found:
        raise Refused(Code.REQUEST_NOT_FOUND)
    live = [request for request in found if request.open(ctx.now)]
    if not live:
        raise Refused(Code.REQUEST_NOT_FOUND, why_not(found[0], ctx.now))
    return live[0]


def why_not(request: MoneyRequest, now: int) -> str:
    """Why a request can no longer be paid or declined, in words for the payer."""
    state = request.state_at(now)
    if state == request_book.PAID:
        return "This request has already been paid."
    if state == request_book.DECLINED:
        return "This request was declined."
    assert state == request_book.LAPSED, state
    return "This request has lapsed."


class DeclineRequest:
    """The payer says no to a request; the requester gets an SMS."""

    name = "decline_request"

    async def run(self, ctx: Context) -> Guarded[MoneyRequest | None]:
        """Find the open request by its number, then mark it declined under its lock."""
        payer = ctx.initiator(PartyKind.CUSTOMER)
        command = ctx.command_as(commands.RequestNumber)
        request = await find_open(ctx, payer, command.number)
        await ctx.verify_pin(payer)
        requester = ctx.directory.get(request.requester_id)

        # A Record, committed after the lock: only the payer pays or declines, and TranProc
        # holds the payer's lock until it has committed; reminders touch other columns.
        def decide(current: MoneyRequest) -> Posting | Record:
            if not current.open(ctx.now):
                raise Refused(Code.REQUEST_NOT_FOUND, why_not(current, ctx.now))
            notes: tuple[Note, ...] = ()
            if requester is not None and requester.msisdn:
                params = {
                    "name": display_name(payer),
                    "msisdn": display_number(ctx, payer),
                    "number": current.number,
                    "amount": ctx.money(current.amount),
                }
                notes = (Note(requester.msisdn, requester.language, "request.declined", params),)
            response = Response(
                ctx.request.id,
                Code.OK,
                f"Request {current.number} for {ctx.money(current.amount)} declined.",
                None,
                {"number": current.number, "state": request_book.DECLINED},
            )
            row = request_book.state_row(
                current.request_id, request_book.DECLINED, ctx.request.id, "", ctx.now
            )
            return Record(response, payer.id, notes=notes, rows=(row,))

        return request_book.guarded(ctx.services.store, request.request_id, decide)


class MyRequests:
    """The app's list: requests to me and from me, and my bills, with who has paid."""

    name = "my_requests"

    async def run(self, ctx: Context) -> Response:
        """The last 30 days' requests to and from the asker, and their bills."""
        party = ctx.initiator(PartyKind.CUSTOMER)
        await ctx.verify_pin(party)
        store = ctx.services.store
        since = ctx.now - listed_days * 86_400 * 1_000_000_000
        found = await request_book.of_party(store, party.id, since, listed_max)
        bills = await request_book.bills_of(store, party.id, since, listed_max)
        to_me = [describe(ctx, r, r.requester_id) for r in found if r.payer_id == party.id]
        from_me = [
            describe(ctx, r, r.payer_id) for r in found if r.requester_id == party.id and not r.bill
        ]
        shown = [await bill_data(ctx, bill) for bill in bills]
        waiting = sum(1 for r in to_me if r["state"] == request_book.OPEN)
        return Response(
            ctx.request.id,
            Code.OK,
            f"{waiting} requests are waiting for you to pay; you have {len(shown)} bills.",
            None,
            {"to_me": to_me, "from_me": from_me, "bills": shown},
        )


def describe(ctx: Context, request: MoneyRequest, other_id: int) -> dict[str, object]:
    """A request as the app shows it, with the other party's name and number."""
    other = ctx.directory.get(other_id)
    return {
        "number": request.number,
        "amount": request.amount,
        "note": request.note,
        "state": request.state_at(ctx.now),
        "created": request.created,
        "expires": request.expires,
        "other": display_name(other) if other is not None else "",
        "other_msisdn": (other.msisdn or "") if other is not None else "",
        "receipt": request.settled_receipt,
        "bill": bool(request.bill),
    }


async def bill_data(ctx: Context, bill: request_book.Bill) -> dict[str, object]:
    """A bill as its organiser sees it: each friend's share and whether they paid."""
    shares = await request_book.of_bill(ctx.services.store, bill.bill)
    friends = [describe(ctx, share, share.payer_id) for share in shares]
    paid = sum(share.amount for share in shares if share.state == request_book.PAID)
    return {
        "number": bill.number,
        "total": bill.total,
        "note": bill.note,
        "created": bill.created,
        "expires": bill.expires,
        "paid": paid,
        "outstanding": bill.total - paid,
        "friends": friends,
    }
