"""E-money issuance and redemption against the trust bank account (operations staff).

E-money exists only against money in the trust account. When the trust bank
account receives money (a super-agent's or a business's bank deposit, the
operator's own capital for commissions), operations staff issue the same amount
of e-money: the trust mirror is debited and the holder's account credited. When
money leaves the trust bank account, they redeem it: the holder's e-money goes
back to the mirror. The trust mirror may never be credited beyond what it was
debited (the ledger's CREDITS_MUST_NOT_EXCEED_DEBITS), so no one can redeem more
than was issued. Every move names the bank reference and leaves an audit record.

Only the operator console asks (``Proof.CONSOLE``: a maker and, as its policy
wants, a checker). One bank movement is one e-money movement: the decision is
guarded by its reference (``processor/guarded.py``), so two requests naming one
reference cannot both pass the check before either commits.
"""

from __future__ import annotations

import asyncio

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.ledger import Write
from mkoba.parties import OPERATOR_ID, Change, Party, PartyKind, Purpose
from mkoba.parties.holders import EMONEY_ACCOUNTS, EMONEY_HOLDERS, bank_reference
from mkoba.processor import history
from mkoba.processor.context import Context
from mkoba.processor.guarded import Guarded, Posting
from mkoba.processor.plan import Leg, Line, Note, Plan, Posted, Record, Refused
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response, Staff
from mkoba.processor.services import Services
from mkoba.processor.status import Status
from mkoba.processor.transfers import refusal
from mkoba.products.common import by_staff, console_staff, display_name, not_their_own

TRUST = Services.operator_account(Purpose.TRUST)


def _holder(ctx: Context) -> tuple[Party, int]:
    """The party named by ``kind`` and ``to``, and the account the money goes in or out of."""
    command = ctx.command_as(commands.Emoney)
    kind = command.kind
    if kind not in EMONEY_HOLDERS:
        raise Refused(Code.INVALID_INPUT, f"kind: one of {', '.join(EMONEY_HOLDERS)}")
    party_kind, purpose = EMONEY_HOLDERS[kind]
    if party_kind == PartyKind.OPERATOR:
        operator = ctx.directory.get(1)
        assert operator is not None, "the operator exists from the first start"
        party = operator
    else:
        if not command.to:
            raise Refused(Code.INVALID_INPUT, "to is required")
        found = ctx.directory.by_number(party_kind, command.to)
        if found is None:
            raise Refused(
                Code.UNKNOWN_AGENT
                if "agent" in kind
                else Code.UNKNOWN_PAYBILL
                if kind == "organisation"
                else Code.UNKNOWN_TILL
            )
        party = found
    named = command.account
    if named:
        if named not in EMONEY_ACCOUNTS:
            raise Refused(Code.INVALID_INPUT, f"account: one of {', '.join(EMONEY_ACCOUNTS)}")
        purpose = EMONEY_ACCOUNTS[named]
    account = ctx.directory.account(party.id, purpose)
    if account is None:
        raise Refused(Code.INVALID_INPUT, f"{party.name} holds no {purpose.name.lower()} account")
    return party, account


def _reference(ctx: Context) -> str:
    reference = bank_reference(ctx.command_as(commands.Emoney).reference)
    if reference is None:
        raise Refused(Code.INVALID_INPUT, "reference: the bank's reference, letters and digits")
    return reference


class _Emoney:
    """Issue (trust mirror to holder) or redeem (holder to trust mirror)."""

    name = ""
    issue = True
    proof = Proof.CONSOLE

    async def run(self, ctx: Context) -> Guarded[list[str]]:
        """Check the holder and the reference; decide on the reference's history."""
        staff = console_staff(ctx)
        holder, account = _holder(ctx)
        not_their_own(ctx, staff, holder)
        reference = _reference(ctx)

        async def read() -> list[str]:
            return await asyncio.to_thread(
                history.referencing,
                ctx.services.store,
                reference,
                (self.name,),
                (Status.COMPLETED, Status.PENDING),
            )

        async def decide(used: list[str]) -> Posting | Record:
            if used:
                raise Refused(
                    Code.NOT_ALLOWED,
                    f"Bank reference {reference} was already used: receipt {used[0]}.",
                )
            return self._posting(ctx, staff, holder, account, reference)

        return Guarded(f"emoney:{reference}", read, decide)

    def _posting(
        self, ctx: Context, staff: Staff, holder: Party, account: int, reference: str
    ) -> Posting:
        amount = ctx.command_as(commands.Emoney).amount
        action = "emoney_issue" if self.issue else "emoney_redeem"
        leg = (
            Leg(TRUST, account, amount)
            if self.issue
            else Leg(account, TRUST, amount, short=Code.INSUFFICIENT_FUNDS)
        )
        verb = "issued to" if self.issue else "redeemed from"
        notes: tuple[Note, ...] = ()
        if holder.msisdn:
            template = "emoney.issued" if self.issue else "emoney.redeemed"
            notes = (
                Note(
                    holder.msisdn,
                    holder.language,
                    template,
                    {"amount": ctx.money(amount), "reference": reference},
                    account,
                ),
            )
        signed = amount if self.issue else -amount
        plan = Plan(
            product=self.name,
            payer_id=OPERATOR_ID if self.issue else holder.id,
            payee_id=holder.id if self.issue else OPERATOR_ID,
            amount=amount,
            legs=(leg,),
            reference=reference,
            notes=notes,
            lines=(Line(holder.id, account, f"E-money {verb[:-3]} ({reference})", signed),),
        )
        message = (
            f"{ctx.money(amount)} of e-money {verb} {display_name(holder)}"
            f" against bank reference {reference}."
        )

        def rows(_number: int, receipt: str) -> list[Write]:
            detail = by_staff(
                staff, amount=amount, reference=reference, account=account, receipt=receipt
            )
            return Change(audit=((ctx.now, OPERATOR_ID, action, holder.id, detail),)).writes()

        def answer(posted: Posted) -> Record:
            if not posted.ok:
                raise Refused(refusal(posted.results, plan.legs))
            data = {"amount": amount, "holder": holder.name, "reference": reference}
            response = Response(ctx.request.id, Code.OK, message, posted.receipt, data)
            return Record(response, OPERATOR_ID)

        return Posting(plan, rows, answer)


class IssueEmoney(_Emoney):
    """Issue e-money against money the trust bank account received."""

    name = "issue_emoney"
    issue = True


class RedeemEmoney(_Emoney):
    """Redeem e-money as money leaves the trust bank account."""

    name = "redeem_emoney"
    issue = False
