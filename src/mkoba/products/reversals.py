"""Reversals: the payer asks, the money is held, customer care decides (M-Pesa's 456).

Rule: only the payer of a completed ``send_money`` may ask, within the
profile's reversal window, once per transaction. Payments to tills and
paybills are reversed by the business (Daraja's reversal API), not here.
Asking places a hold (a pending transfer from the recipient's wallet back to
the payer's, lasting the window, 30 days at most): it fails with
``REVERSAL_NOT_POSSIBLE`` when the recipient no longer has the money. Staff in
the operator console (``Proof.CONSOLE``: care makes, a checker approves), neither
linked to a party of the transaction, approve (the hold is posted, the reversal
gets its own receipt) or reject (the hold is voided). Both parties are told by SMS at each step, and
every request and decision leaves an audit record.

Asking and deciding race for one record: each answers with a ``Guarded``
decision (``processor/guarded.py``), which TranProc makes under the reversal's
lock on the record as it then stands.
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.ledger import TransferResult, Write, limits
from mkoba.parties import OPERATOR_ID, Change, Party, PartyKind
from mkoba.processor import ids
from mkoba.processor.context import Context
from mkoba.processor.guarded import Guarded, Posting
from mkoba.processor.plan import Leg, Line, Note, Plan, Posted, Record, Refused
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response, Staff
from mkoba.processor.transfers import refusal, resolutions_for
from mkoba.products import reversal_book, ticket_book
from mkoba.products.common import (
    by_staff,
    console_staff,
    display_name,
    display_number,
    not_their_own,
    offered,
)
from mkoba.products.reversal_book import Original, Reversal

# Receipts are ten characters; a little room for what people paste.
receipt_length_max = 20
REVERSIBLE = frozenset({"send_money"})


def receipt_param(ctx: Context) -> str:
    """The original transaction's receipt, as the customer typed or forwarded it."""
    text = ctx.command_as(commands.Reversal).receipt.upper()
    if len(text) > receipt_length_max or not text.isalnum():
        raise Refused(Code.INVALID_INPUT, "receipt: the transaction code, e.g. UKN3QX7T2B")
    return text


def _party(ctx: Context, party_id: int) -> Party:
    party = ctx.directory.get(party_id)
    if party is None:
        raise Refused(Code.SYSTEM_ERROR, "a party of this transaction is missing")
    return party


class RequestReversal:
    """The payer asks to reverse a transfer; the money is held for staff to decide."""

    name = "request_reversal"

    async def run(self, ctx: Context) -> Guarded[Reversal | None]:
        """Check the rule, then hold the amount in the recipient's wallet."""
        offered(ctx, "reversal")
        payer = ctx.initiator(PartyKind.CUSTOMER)
        receipt = receipt_param(ctx)
        found = await reversal_book.original(ctx.services.store, receipt)
        if found is None or found.payer_id != payer.id:
            # Someone else's receipt is as unknown as a made-up one.
            raise Refused(Code.UNKNOWN_RECEIPT)

        async def read() -> Reversal | None:
            return await reversal_book.get(ctx.services.store, receipt)

        async def decide(existing: Reversal | None) -> Posting | Record:
            if existing is not None:
                if existing.request_id == ctx.request.id:
                    return self._record(ctx, payer, existing)
                raise Refused(
                    Code.REVERSAL_NOT_POSSIBLE,
                    "A reversal of this transaction was already asked for.",
                )
            self._check(ctx, found)
            await ctx.verify_pin(payer)
            return self._hold(ctx, payer, found)

        return Guarded(reversal_key(receipt), read, decide)

    def _check(self, ctx: Context, found: Original) -> None:
        if found.product not in REVERSIBLE:
            raise Refused(
                Code.REVERSAL_NOT_POSSIBLE,
                "Only money sent to another person can be reversed here. Ask the business"
                " to reverse a payment.",
            )
        if found.status != "completed":
            raise Refused(
                Code.REVERSAL_NOT_POSSIBLE, "This transaction did not complete: no money moved."
            )
        window_s = int(ctx.profile.reversal_window.total_seconds())
        if ctx.now - found.created > window_s * 1_000_000_000:
            hours = window_s // 3600
            raise Refused(
                Code.REVERSAL_NOT_POSSIBLE,
                f"A reversal must be asked for within {hours} hours of the transaction.",
            )
        ctx.check_amount("reversal", found.amount)

    def _hold(self, ctx: Context, payer: Party, found: Original) -> Posting:
        recipient = _party(ctx, found.payee_id)
        window_s = int(ctx.profile.reversal_window.total_seconds())
        timeout_s = max(1, min(window_s, limits.pending_timeout_s_max))
        leg = Leg(found.target, found.source, found.amount, short=Code.REVERSAL_NOT_POSSIBLE)
        amount = ctx.money(found.amount)
        sent = ctx.services.sent_at(found.created)
        notes = (
            Note(
                payer.msisdn or "",
                payer.language,
                "reversal.requested",
                {
                    "original": found.receipt,
                    "amount": amount,
                    "name": display_name(recipient),
                    "sent": sent,
                },
            ),
            Note(
                recipient.msisdn or "",
                recipient.language,
                "reversal.held",
                {
                    "original": found.receipt,
                    "amount": amount,
                    "name": display_name(payer),
                    "msisdn": display_number(ctx, payer),
                    "sent": sent,
                },
                found.target,
            ),
        )
        plan = Plan(
            product="reversal_hold",
            payer_id=recipient.id,
            payee_id=payer.id,
            amount=found.amount,
            legs=(leg,),
            reference=found.receipt,
            notes=notes,
        )
        held: list[Reversal] = []

        def rows(number: int, _receipt: str) -> list[Write]:
            reversal = Reversal(
                found.receipt,
                ctx.request.id,
                payer.id,
                recipient.id,
                found.amount,
                found.target,
                found.source,
                number,
                ids.leg_id(number, 0, "pending"),
                ctx.now + timeout_s * 1_000_000_000,
                reversal_book.HELD,
                0,
                "",
                "",
                ctx.now,
                ctx.now,
            )
            held.append(reversal)
            detail: dict[str, object] = {"receipt": found.receipt}
            audit = (ctx.now, payer.id, "reversal_request", payer.id, detail)
            # Care's ticket for it, numbered as the hold: the decision closes it.
            ticket = ticket_book.new(
                number,
                payer.id,
                payer.msisdn or "",
                "reversal",
                str(ctx.request.channel),
                f"Reversal of {found.receipt} ({ctx.money(found.amount)}) asked for.",
                ctx.now,
                subject=found.receipt,
            )
            return [
                reversal_book.held_row(reversal),
                ticket_book.new_row(ticket),
                *Change(audit=(audit,)).writes(),
            ]

        def answer(posted: Posted) -> Record:
            if not posted.ok:
                code = refusal(posted.results, plan.legs)
                if code == Code.REVERSAL_NOT_POSSIBLE:
                    raise Refused(
                        code, "The recipient has already used the money: it cannot be reversed."
                    )
                raise Refused(code)
            # The last run's: the ledger writer may run ``rows`` again (a batch decided again).
            return self._record(ctx, payer, held[-1])

        return Posting(plan, rows, answer, timeout_s=timeout_s, receipt=False)

    def _record(self, ctx: Context, payer: Party, reversal: Reversal) -> Record:
        response = Response(
            ctx.request.id,
            Code.OK,
            f"Reversal of {reversal.receipt} asked for. {ctx.money(reversal.amount)} is held"
            " while we check with the recipient; we will send you an SMS.",
            None,
            {"original": reversal.receipt, "amount": reversal.amount, "state": reversal.state},
        )
        return Record(response, payer.id)


class DecideReversal:
    """Staff approve (post the hold) or reject (void it) a reversal request."""

    proof = Proof.CONSOLE

    def __init__(self, approve: bool) -> None:
        self.approve = approve
        self.name = "approve_reversal" if approve else "reject_reversal"

    async def run(self, ctx: Context) -> Guarded[Reversal | None]:
        """Check who decides, then resolve the hold with its records and messages."""
        staff = console_staff(ctx)
        receipt = receipt_param(ctx)

        async def read() -> Reversal | None:
            return await reversal_book.get(ctx.services.store, receipt)

        async def decide(reversal: Reversal | None) -> Posting | Record:
            if reversal is None:
                raise Refused(Code.UNKNOWN_RECEIPT, "There is no reversal request for that code.")
            if reversal.decision_request == ctx.request.id:
                return self._record(ctx, staff, reversal)
            if reversal.state != reversal_book.HELD:
                raise Refused(
                    Code.REVERSAL_NOT_POSSIBLE,
                    f"This reversal request is {reversal.state} already.",
                )
            payer = _party(ctx, reversal.payer_id)
            recipient = _party(ctx, reversal.payee_id)
            not_their_own(ctx, staff, payer, recipient)
            return self._decide(ctx, staff, reversal, payer, recipient)

        return Guarded(reversal_key(receipt), read, decide)

    def _decide(
        self, ctx: Context, staff: Staff, reversal: Reversal, payer: Party, recipient: Party
    ) -> Posting:
        state = reversal_book.APPROVED if self.approve else reversal_book.REJECTED
        plan = self._plan(ctx, reversal, payer, recipient)
        decided: list[Reversal] = []

        def rows(_number: int, receipt: str) -> list[Write]:
            own = receipt if self.approve else ""
            decided.append(
                reversal._replace(
                    state=state,
                    decided_by=OPERATOR_ID,
                    decision_request=ctx.request.id,
                    reversal_receipt=own,
                    updated=ctx.now,
                )
            )
            detail = by_staff(staff, receipt=reversal.receipt, reversal=own)
            audit = (ctx.now, OPERATOR_ID, f"reversal_{state}", payer.id, detail)
            row = reversal_book.decided_row(
                reversal.receipt, state, OPERATOR_ID, ctx.request.id, own, ctx.now
            )
            closed = ticket_book.resolved_row(
                reversal.hold_number,
                f"Reversal {state}" + (f": receipt {own}." if own else "."),
                ctx.now,
            )
            return [row, closed, *Change(audit=(audit,)).writes()]

        def lapsed(posted: Posted) -> list[Write]:
            if not _lapsed(posted):
                return []
            row = reversal_book.decided_row(
                reversal.receipt, reversal_book.LAPSED, OPERATOR_ID, ctx.request.id, "", ctx.now
            )
            closed = ticket_book.resolved_row(reversal.hold_number, "The hold lapsed.", ctx.now)
            return [row, closed]

        def answer(posted: Posted) -> Record:
            if posted.ok:
                return self._record(ctx, staff, decided[-1])  # the last run's, as above
            if _lapsed(posted):
                raise Refused(
                    Code.REVERSAL_NOT_POSSIBLE,
                    "The hold lapsed before anyone decided: the money stayed with the recipient.",
                )
            raise Refused(Code.SYSTEM_ERROR)

        transfers = resolutions_for(1, reversal.hold_number, post=self.approve)
        return Posting(
            plan, rows, answer, transfers=transfers, receipt=self.approve, refused=lapsed
        )

    def _plan(self, ctx: Context, reversal: Reversal, payer: Party, recipient: Party) -> Plan:
        amount = ctx.money(reversal.amount)
        lines: tuple[Line, ...] = ()
        if self.approve:
            notes = (
                Note(
                    payer.msisdn or "",
                    payer.language,
                    "reversal.approved_payer",
                    {"original": reversal.receipt, "amount": amount},
                    reversal.refund_account,
                ),
                Note(
                    recipient.msisdn or "",
                    recipient.language,
                    "reversal.approved_recipient",
                    {"original": reversal.receipt, "amount": amount, "name": display_name(payer)},
                    reversal.held_account,
                ),
            )
            description = f"Reversal of {reversal.receipt}"
            lines = (
                Line(payer.id, reversal.refund_account, description, reversal.amount),
                Line(recipient.id, reversal.held_account, description, -reversal.amount),
            )
        else:
            notes = (
                Note(
                    payer.msisdn or "",
                    payer.language,
                    "reversal.rejected_payer",
                    {
                        "original": reversal.receipt,
                        "amount": amount,
                        "name": display_name(recipient),
                    },
                ),
                Note(
                    recipient.msisdn or "",
                    recipient.language,
                    "reversal.rejected_recipient",
                    {"original": reversal.receipt, "amount": amount},
                    reversal.held_account,
                ),
            )
        return Plan(
            product="reversal",
            payer_id=recipient.id,
            payee_id=payer.id,
            amount=reversal.amount,
            legs=(Leg(reversal.held_account, reversal.refund_account, reversal.amount),),
            reference=reversal.receipt,
            notes=notes,
            lines=lines,
        )

    def _record(self, ctx: Context, staff: Staff, reversal: Reversal) -> Record:
        verb = "approved" if self.approve else "rejected"
        response = Response(
            ctx.request.id,
            Code.OK,
            f"Reversal of {reversal.receipt} {verb}.",
            reversal.reversal_receipt or None,
            {"original": reversal.receipt, "amount": reversal.amount, "state": reversal.state},
        )
        return Record(response, OPERATOR_ID)


def reversal_key(receipt: str) -> str:
    """The lock of a reversal request: one decision on it at a time."""
    return f"reversal:{receipt}"


def _lapsed(posted: Posted) -> bool:
    """Whether the ledger refused the decision because the hold had lapsed first."""
    return posted.results[0] in (
        TransferResult.PENDING_TRANSFER_EXPIRED,
        TransferResult.ID_ALREADY_FAILED,
    )
