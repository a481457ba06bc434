"""Bulk disbursement: an organisation pays many customers (dividends, stipends, transfers).

Staff in the operator console upload the file, a checker approves it, and the
console sends one request per row. Both steps come here with ``Proof.CONSOLE``:

- ``bulk_disbursement`` is the approval: the organisation is active, not linked to
  the staff, and its UTILITY account holds what the whole batch takes (payments and
  fees), so a batch the account cannot pay is refused before the first row moves.
  It moves no money; the core's audit keeps who approved which batch.
- ``bulk_payment`` is one row: B2C's own decision (``b2c.pay_customer``), so a row's
  result is a B2C result (limits, charge, receipt, texts).

A profile that offers no B2C (campus) offers no bulk disbursement either: its tariff
is B2C's.
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import OPERATOR_ID, Change, Party, PartyKind, Purpose
from mkoba.processor.context import Context
from mkoba.processor.plan import Plan, Record, Refused
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response, Staff
from mkoba.products.business.b2c import B2C, pay_customer
from mkoba.products.common import by_staff, console_staff, customer, not_their_own

REASON = "Bulk Payment"


def offered(ctx: Context) -> None:
    """Refuse where the profile in force offers no B2C (its tariff is bulk's)."""
    if B2C.name not in ctx.profile.products:
        raise Refused(
            Code.NOT_ALLOWED,
            f"{ctx.profile.name} offers no B2C payments, so no bulk disbursement",
        )


def organisation(ctx: Context, staff: Staff, shortcode: str) -> Party:
    """The active organisation paying, not linked to the staff who act."""
    party = ctx.directory.by_number(PartyKind.ORGANISATION, shortcode)
    if party is None:
        raise Refused(Code.UNKNOWN_PAYBILL, f"there is no organisation {shortcode}")
    if not party.active:
        raise Refused(Code.ACCOUNT_INACTIVE, f"{shortcode} cannot transact")
    not_their_own(ctx, staff, party)
    return party


class BulkDisbursement:
    """A checker's approval of a batch: checked against the account, recorded, no money."""

    name = "bulk_disbursement"
    proof = Proof.CONSOLE

    async def run(self, ctx: Context) -> Record:
        """Check the organisation and that its account covers the batch; record it."""
        staff = console_staff(ctx)
        offered(ctx)
        asked = ctx.command_as(commands.BulkDisbursement)
        payer = organisation(ctx, staff, asked.shortcode)
        account = ctx.account(payer, Purpose.UTILITY)
        (balance,) = await ctx.balances([account])
        if balance.available < asked.amount:
            raise Refused(
                Code.INSUFFICIENT_FUNDS,
                f"{payer.name}'s utility account holds {ctx.money(balance.available)}:"
                f" the batch needs {ctx.money(asked.amount)}",
            )
        detail = by_staff(staff, batch=asked.batch, amount=asked.amount, account=account)
        change = Change(audit=((ctx.now, OPERATOR_ID, self.name, payer.id, detail),))
        message = (
            f"Batch {asked.batch} approved: {ctx.money(asked.amount)} from {payer.name}"
            " (payments and fees), paid row by row."
        )
        data = {"batch": asked.batch, "amount": asked.amount, "available": balance.available}
        response = Response(ctx.request.id, Code.OK, message, None, data)
        return Record(response, OPERATOR_ID, change)


class BulkPayment:
    """One row of an approved batch: B2C from the organisation to a customer."""

    name = "bulk_payment"
    proof = Proof.CONSOLE

    async def run(self, ctx: Context) -> Plan:
        """Check the organisation and the recipient, then plan it as B2C plans it."""
        staff = console_staff(ctx)
        offered(ctx)
        asked = ctx.command_as(commands.BulkPayment)
        payer = organisation(ctx, staff, asked.shortcode)
        recipient = customer(ctx, asked.to)
        not_their_own(ctx, staff, recipient)
        return pay_customer(
            ctx,
            self.name,
            payer,
            recipient,
            asked.amount,
            command="BulkPayment",
            reason=REASON,
            remarks=asked.reference,
            reference=asked.reference or recipient.msisdn or "",
        )
