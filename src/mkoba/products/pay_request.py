"""Pay a money request: a send money to the requester, and the request marked paid, once.

The payer names the request by its number and gives the PIN. The payment is a
send money (its tariff, its limits) whose money commits with the request's new
state in one batch, decided under the request's lock (``request_book.guarded``):
of two pays of one request at once, one pays and the other is told it is paid.
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import requests as commands
from mkoba.ledger import Write
from mkoba.parties import Party, PartyKind, Purpose
from mkoba.processor.context import Context
from mkoba.processor.guarded import Guarded, Posting
from mkoba.processor.plan import Plan, Posted, Record, Refused
from mkoba.processor.request import Response
from mkoba.processor.transfers import refusal
from mkoba.products import request_book
from mkoba.products.common import display_name, display_number
from mkoba.products.request_book import MoneyRequest
from mkoba.products.requests import find_open, why_not
from mkoba.products.transfer import Charges, Side, two_party

# The tariff and limits a paid request is charged under: it is a send.
TARIFF = "send_money"


class PayRequest:
    """The payer pays a request made of them (or their share of a bill)."""

    name = "pay_request"

    async def run(self, ctx: Context) -> Record | Guarded[MoneyRequest | None]:
        """Find the open request, check the send, then pay it under the request's lock."""
        payer = ctx.initiator(PartyKind.CUSTOMER)
        command = ctx.command_as(commands.RequestNumber)
        replayed = await self._paid_by_this(ctx, payer, command.number)
        if replayed is not None:
            return replayed
        request = await find_open(ctx, payer, command.number)
        requester = ctx.directory.get(request.requester_id)
        if requester is None or requester.kind != PartyKind.CUSTOMER or not requester.active:
            raise Refused(Code.ACCOUNT_INACTIVE, "the requester's account cannot receive money")
        amount = request.amount
        ctx.check_limits(payer, TARIFF, amount)
        fee = ctx.profile.fee(TARIFF, amount).customer
        excise = ctx.profile.excise(fee)
        await ctx.verify_pin(payer)
        number = request.number
        plan = two_party(
            self.name,
            Side(
                payer,
                ctx.account(payer, Purpose.WALLET),
                f"Request {number} paid to {display_name(requester)}",
                "request.paid.payer",
                {
                    "amount": ctx.money(amount),
                    "name": display_name(requester),
                    "msisdn": display_number(ctx, requester),
                    "number": number,
                    "fee": ctx.money(fee),
                },
            ),
            Side(
                requester,
                ctx.account(requester, Purpose.WALLET),
                f"Request {number} paid by {display_name(payer)}",
                "request.paid.requester",
                {
                    "amount": ctx.money(amount),
                    "name": display_name(payer),
                    "msisdn": display_number(ctx, payer),
                    "number": number,
                },
            ),
            amount,
            charges=Charges(fee=fee, excise=excise),
            reference=number,
            usage=amount,
            message=f"{ctx.money(amount)} paid to {display_name(requester)}"
            f" {display_number(ctx, requester)} for request {number}."
            f" Transaction cost {ctx.money(fee)}.",
            data={"amount": amount, "fee": fee, "number": number, "requester": requester.name},
        )

        def decide(current: MoneyRequest) -> Posting | Record:
            if not current.open(ctx.now):
                raise Refused(Code.REQUEST_NOT_FOUND, why_not(current, ctx.now))

            def rows(_number: int, receipt: str) -> list[Write]:
                paid = request_book.PAID
                return [
                    request_book.state_row(
                        current.request_id, paid, ctx.request.id, receipt, ctx.now
                    )
                ]

            return Posting(plan, rows, lambda posted: self._answer(ctx, plan, posted))

        return request_book.guarded(ctx.services.store, request.request_id, decide)

    async def _paid_by_this(self, ctx: Context, payer: Party, number: str) -> Record | None:
        """The answer again when this very request paid it (a replay after a crash)."""
        found = await request_book.to_payer(ctx.services.store, payer.id, number)
        mine = [r for r in found if r.state == request_book.PAID and r.settled_by == ctx.request.id]
        if not mine:
            return None
        await ctx.verify_pin(payer)
        paid = mine[0]
        response = Response(
            ctx.request.id,
            Code.OK,
            f"{ctx.money(paid.amount)} paid for request {paid.number}.",
            paid.settled_receipt,
            {"amount": paid.amount, "number": paid.number},
        )
        return Record(response, payer.id)

    def _answer(self, ctx: Context, plan: Plan, posted: Posted) -> Record:
        """The payer's answer once the ledger has spoken; the send counts against the day."""
        if not posted.ok:
            code = refusal(posted.results, plan.legs)
            raise Refused(code)
        payer_id = plan.payer_id
        payer = ctx.directory.get(payer_id)
        assert payer is not None
        ctx.count(payer, "value", plan.usage)
        response = Response(ctx.request.id, Code.OK, plan.message, posted.receipt, plan.data)
        return Record(response, payer_id)
