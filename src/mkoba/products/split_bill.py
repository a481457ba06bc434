"""Split a bill among friends, and see who has paid.

The organiser (who paid the bill) names the friends and the total: equal shares,
the remainder cents to the first friends listed, or the shares each owes, which
must add up to the total. Each friend gets one money request tied to the bill,
paid like any other (``pay_request``); the bill is tracked until each has paid,
and a friend who has not is reminded by SMS (``app_sweep``: every
``requests.reminder_interval``, at most ``requests.reminders_max`` times).
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import requests as commands
from mkoba.parties import Party, PartyKind
from mkoba.processor.context import Context
from mkoba.processor.plan import Note, Record, Refused
from mkoba.processor.request import Response
from mkoba.products import request_book
from mkoba.products.common import display_name, display_number
from mkoba.products.request_book import Bill, MoneyRequest
from mkoba.products.requests import (
    bill_data,
    check_open,
    fresh_number,
    note_text,
    payer_of,
    requests_offered,
)
from mkoba.products.vouchers import expiry_text


def share_id(bill: str, index: int) -> str:
    """The id of a bill's request to its ``index``-th friend (from 1, in the order listed)."""
    assert 1 <= index <= commands.bill_friends_max
    return f"{bill}/{index:02d}"


class SplitBill:
    """The organiser splits a total among friends: one request to each."""

    name = "split_bill"

    async def run(self, ctx: Context) -> Record:
        """Check every friend and share and the open cap; then the bill, its requests, SMS."""
        requests_offered(ctx)
        organiser = ctx.initiator(PartyKind.CUSTOMER)
        command = ctx.command_as(commands.SplitBill)
        shares = command.split()
        rules = ctx.profile.requests
        if len(shares) > rules.friends_max:
            raise Refused(Code.NOT_ALLOWED, f"A bill is split among at most {rules.friends_max}.")
        friends = []
        for msisdn, share in shares:
            if msisdn == organiser.msisdn:
                raise Refused(
                    Code.SAME_ACCOUNT, "Leave yourself out: list only the friends who owe you."
                )
            friend = payer_of(ctx, organiser, msisdn)
            ctx.check_amount("send_money", share)
            friends.append((friend, share))
        await check_open(ctx, organiser, len(friends))
        await ctx.verify_pin(organiser)
        expires = ctx.now + int(rules.validity.total_seconds()) * 1_000_000_000
        bill = Bill(
            ctx.request.id,
            await self._bill_number(ctx, organiser),
            organiser.id,
            command.total,
            command.note,
            ctx.now,
            expires,
        )
        requests = []
        taken: set[str] = set()
        for index, (friend, share) in enumerate(friends, start=1):
            number = await fresh_number(ctx, friend.id, taken)
            taken.add(number)
            requests.append(
                MoneyRequest(
                    share_id(bill.bill, index),
                    number,
                    organiser.id,
                    friend.id,
                    share,
                    command.note,
                    bill.bill,
                    ctx.now,
                    expires,
                    request_book.OPEN,
                    "",
                    "",
                    0,
                    ctx.now,
                )
            )
        return self._record(ctx, organiser, bill, friends, requests)

    async def _bill_number(self, ctx: Context, organiser: Party) -> str:
        for _ in range(8):
            number = request_book.new_number()
            if await request_book.bill_by_number(ctx.services.store, organiser.id, number) is None:
                return number
        raise Refused(Code.SYSTEM_BUSY)

    def _record(
        self,
        ctx: Context,
        organiser: Party,
        bill: Bill,
        friends: list[tuple[Party, int]],
        requests: list[MoneyRequest],
    ) -> Record:
        last_day = expiry_text(ctx, bill.expires)
        notes = tuple(
            Note(
                friend.msisdn or "",
                friend.language,
                "request.bill",
                {
                    "name": display_name(organiser),
                    "msisdn": display_number(ctx, organiser),
                    "total": ctx.money(bill.total),
                    "amount": ctx.money(request.amount),
                    "note": note_text(bill.note),
                    "number": request.number,
                    "expires": last_day,
                },
            )
            for (friend, _), request in zip(friends, requests, strict=True)
        )
        rows = (
            request_book.bill_row(bill),
            *(request_book.request_row(request, ctx.now) for request in requests),
        )
        shares = [
            {"msisdn": friend.msisdn, "name": display_name(friend), "amount": request.amount}
            for (friend, _), request in zip(friends, requests, strict=True)
        ]
        response = Response(
            ctx.request.id,
            Code.OK,
            f"Bill {bill.number} of {ctx.money(bill.total)} split among {len(friends)};"
            f" each has an SMS to pay their share by {last_day}.",
            None,
            {"bill": bill.number, "total": bill.total, "expires": bill.expires, "shares": shares},
        )
        return Record(response, organiser.id, notes=notes, rows=rows)


class BillStatus:
    """The organiser reads a bill: who paid, who has not, what is outstanding."""

    name = "bill_status"

    async def run(self, ctx: Context) -> Response:
        """The bill by its number, with each friend's share and state."""
        organiser = ctx.initiator(PartyKind.CUSTOMER)
        command = ctx.command_as(commands.BillNumber)
        await ctx.verify_pin(organiser)
        bill = await request_book.bill_by_number(ctx.services.store, organiser.id, command.bill)
        if bill is None:
            raise Refused(Code.REQUEST_NOT_FOUND, "You have no bill with that number.")
        data = await bill_data(ctx, bill)
        shares = await request_book.of_bill(ctx.services.store, bill.bill)
        unpaid = [share for share in shares if share.state != request_book.PAID]
        names = []
        for share in unpaid:
            friend = ctx.directory.get(share.payer_id)
            name = display_name(friend) if friend is not None else share.number
            names.append(f"{name} {ctx.money(share.amount)}")
        waiting = "; not yet: " + ", ".join(names) if names else ""
        outstanding = sum(share.amount for share in unpaid)
        return Response(
            ctx.request.id,
            Code.OK,
            f"Bill {bill.number}: {len(shares) - len(unpaid)} of {len(shares)} paid,"
            f" {ctx.money(outstanding)} outstanding{waiting}.",
            None,
            data,
        )
