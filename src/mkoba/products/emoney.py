"""E-money issuance and redemption against the trust bank account (operations staff).

E-money exists only against money in the trust account. When the trust bank
account receives money (a super-agent's or a business's bank deposit, the
operator's own capital for commissions), operations staff issue the same amount
of e-money: the trust mirror is debited and the holder's account credited. When
money leaves the trust bank account, they redeem it: the holder's e-money goes
back to the mirror. The trust mirror may never be credited beyond what it was
debited (the ledger's CREDITS_MUST_NOT_EXCEED_DEBITS), so no one can redeem more
than was issued. Every move names the bank reference and leaves an audit record.
"""

from __future__ import annotations

import asyncio

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import OPERATOR_ID, Change, Party, PartyKind, Purpose, Role
from mkoba.processor import history
from mkoba.processor.context import Context
from mkoba.processor.plan import Leg, Line, Note, Plan, Refused
from mkoba.processor.services import Services
from mkoba.processor.status import Status
from mkoba.products.common import display_name, staff_member

TRUST = Services.operator_account(Purpose.TRUST)
reference_length_max = 64

# Who may hold issued e-money, and in which account by default.
_HOLDERS = {
    "operator": (PartyKind.OPERATOR, Purpose.FEES),
    "super_agent": (PartyKind.SUPER_AGENT, Purpose.FLOAT),
    "agent_store": (PartyKind.AGENT_STORE, Purpose.FLOAT),
    "organisation": (PartyKind.ORGANISATION, Purpose.UTILITY),
    "merchant": (PartyKind.MERCHANT, Purpose.TILL),
}
_UNKNOWN = {
    PartyKind.SUPER_AGENT: Code.UNKNOWN_AGENT,
    PartyKind.AGENT_STORE: Code.UNKNOWN_AGENT,
    PartyKind.ORGANISATION: Code.UNKNOWN_PAYBILL,
    PartyKind.MERCHANT: Code.UNKNOWN_TILL,
}
_ACCOUNTS = {
    "fees": Purpose.FEES,
    "float": Purpose.FLOAT,
    "utility": Purpose.UTILITY,
    "working": Purpose.WORKING,
    "till": Purpose.TILL,
}


def _holder(ctx: Context) -> tuple[Party, int]:
    """The party named by ``kind`` and ``to``, and the account the money goes in or out of."""
    command = ctx.command_as(commands.Emoney)
    kind = command.kind
    if kind not in _HOLDERS:
        raise Refused(Code.INVALID_INPUT, f"kind: one of {', '.join(_HOLDERS)}")
    party_kind, purpose = _HOLDERS[kind]
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
        if named not in _ACCOUNTS:
            raise Refused(Code.INVALID_INPUT, f"account: one of {', '.join(_ACCOUNTS)}")
        purpose = _ACCOUNTS[named]
    account = ctx.directory.account(party.id, purpose)
    if account is None:
        raise Refused(Code.INVALID_INPUT, f"{party.name} holds no {purpose.name.lower()} account")
    return party, account


def _reference(ctx: Context) -> str:
    reference = ctx.command_as(commands.Emoney).reference
    if len(reference) > reference_length_max or not reference.replace("-", "").isalnum():
        raise Refused(Code.INVALID_INPUT, "reference: the bank's reference, letters and digits")
    return reference


class _Emoney:
    """Issue (trust mirror to holder) or redeem (holder to trust mirror)."""

    name = ""
    issue = True

    async def run(self, ctx: Context) -> Plan:
        """Check the staff member, the holder and the reference; plan one leg."""
        staff = staff_member(ctx, Role.OPERATIONS, Role.ADMIN)
        holder, account = _holder(ctx)
        amount = ctx.command_as(commands.Emoney).amount
        reference = _reference(ctx)
        await ctx.verify_pin(staff)
        # One bank movement, one e-money movement: a reference already used is refused.
        used = await asyncio.to_thread(
            history.referencing,
            ctx.services.store,
            reference,
            (self.name,),
            (Status.COMPLETED, Status.PENDING),
        )
        if used:
            raise Refused(
                Code.NOT_ALLOWED,
                f"Bank reference {reference} was already used: receipt {used[0]}.",
            )
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
        return Plan(
            product=self.name,
            payer_id=OPERATOR_ID if self.issue else holder.id,
            payee_id=holder.id if self.issue else OPERATOR_ID,
            amount=amount,
            legs=(leg,),
            reference=reference,
            notes=notes,
            lines=(Line(holder.id, account, f"E-money {verb[:-3]} ({reference})", signed),),
            change=Change(
                audit=(
                    (
                        ctx.now,
                        staff.id,
                        action,
                        holder.id,
                        {"amount": amount, "reference": reference, "account": account},
                    ),
                )
            ),
            message=f"{ctx.money(amount)} of e-money {verb} {display_name(holder)}"
            f" against bank reference {reference}.",
            data={"amount": amount, "holder": holder.name, "reference": reference},
        )


class IssueEmoney(_Emoney):
    """Issue e-money against money the trust bank account received."""

    name = "issue_emoney"
    issue = True


class RedeemEmoney(_Emoney):
    """Redeem e-money as money leaves the trust bank account."""

    name = "redeem_emoney"
    issue = False
