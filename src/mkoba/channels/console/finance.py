"""``/staff/v1/finance/pack``: the daily finance pack, as finance reads it each morning.

Three parts:
- the **trial balance**: every ledger account summed by code (wallets, floats, tills,
  fee income, the trust mirror...), posted and pending, as the writer knows it now;
  debits and credits must total the same;
- the **trust reconciliation**: e-money outstanding (every e-money account's balance)
  against the trust mirror (they must be equal: the ledger's invariant), and against
  the trust bank account's closing balance when finance gives it (``bank``), with the
  breaks to look at: money on hold, and the day's e-money issues and redemptions with
  their bank references;
- **volumes and values by product** for the day (the profile's local day): count,
  amount, fees, business fees, excise and commissions of the completed transactions.

Roles with a part in reconciliation see it (finance, operations, the auditor); each
look is audited. ``format=csv`` gives the same as one CSV file.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from typing import TYPE_CHECKING, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.ledger import AccountKind
from mkoba.parties import Purpose
from mkoba.processor import history
from mkoba.statements.render import days_ns

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

# E-money movements listed as breaks at the most (a day's issues and redemptions).
movements_max = 500
EMONEY_PRODUCTS = ("issue_emoney", "redeem_emoney")


class TrialOut(BaseModel):
    """One code of the chart of accounts, summed."""

    code: int
    name: str
    kind: str
    accounts: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int


class MovementOut(BaseModel):
    """An e-money issue or redemption of the day: a break candidate against the bank."""

    receipt: str
    product: str
    amount: int
    reference: str
    completed: int


class TrustOut(BaseModel):
    """E-money outstanding against the trust mirror, and the bank's balance if given."""

    emoney_outstanding: int
    trust_mirror: int
    difference: int
    bank_balance: int | None
    bank_difference: int | None
    on_hold: int
    movements: list[MovementOut]


class VolumeOut(BaseModel):
    """One product's completed transactions of the day."""

    product: str
    transactions: int
    amount: int
    fee: int
    business_fee: int
    excise: int
    commission: int


class Pack(BaseModel):
    """The daily finance pack."""

    day: dt.date
    made: int
    currency: str
    balanced: bool
    trial_balance: list[TrialOut]
    trust: TrustOut
    volumes: list[VolumeOut]
    totals: VolumeOut


def may_see_finance(console: ConsoleChannel, who: Caller) -> None:
    """``Refusal`` unless ``who``'s role has a part in reconciliation."""
    if not console.policy.sees(who.account.role, "reconciliation"):
        raise Refusal(403, "Your role has no part in the finance pack.")


async def make_pack(console: ConsoleChannel, day: dt.date, bank: int | None) -> Pack:
    """The pack for ``day`` (volumes) as the books stand now (balances)."""
    profile = console.ports.profile()
    zone = profile.timezone
    start, end = days_ns(zone, day, day)
    lines = await console.reads.books.trial_balance()
    volumes, movements = await asyncio.gather(
        asyncio.to_thread(history.volumes_between, console.tables, start, end),
        asyncio.to_thread(
            history.completed_between, console.tables, EMONEY_PRODUCTS, start, end, movements_max
        ),
    )
    trial = [
        TrialOut(
            code=line.code,
            name=_name(line.code),
            kind=line.kind.name.lower(),
            accounts=line.accounts,
            debits_posted=line.debits_posted,
            credits_posted=line.credits_posted,
            debits_pending=line.debits_pending,
            credits_pending=line.credits_pending,
        )
        for line in lines
    ]
    emoney = [line for line in lines if line.kind == AccountKind.EMONEY]
    outstanding = sum(line.credits_posted - line.debits_posted for line in emoney)
    mirror = sum(
        line.debits_posted - line.credits_posted for line in lines if line.kind == AccountKind.TRUST
    )
    trust = TrustOut(
        emoney_outstanding=outstanding,
        trust_mirror=mirror,
        difference=outstanding - mirror,
        bank_balance=bank,
        bank_difference=None if bank is None else bank - mirror,
        on_hold=sum(line.debits_pending for line in emoney),
        movements=[
            MovementOut(
                receipt=found.receipt,
                product=found.product,
                amount=found.amount,
                reference=found.reference,
                completed=found.completed,
            )
            for found in movements
        ],
    )
    shown = [VolumeOut(**volume._asdict()) for volume in volumes]
    totals = VolumeOut(
        product="all",
        transactions=sum(v.transactions for v in volumes),
        amount=sum(v.amount for v in volumes),
        fee=sum(v.fee for v in volumes),
        business_fee=sum(v.business_fee for v in volumes),
        excise=sum(v.excise for v in volumes),
        commission=sum(v.commission for v in volumes),
    )
    balanced = sum(t.debits_posted for t in trial) == sum(t.credits_posted for t in trial)
    return Pack(
        day=day,
        made=console.ports.clock(),
        currency=profile.currency.code,
        balanced=balanced and trust.difference == 0,
        trial_balance=trial,
        trust=trust,
        volumes=shown,
        totals=totals,
    )


def _name(code: int) -> str:
    try:
        return Purpose(code).name.lower()
    except ValueError:
        return f"code {code}"


def pack_csv(pack: Pack) -> bytes:
    """The pack as one CSV file: its three parts one after the other (minor units)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Finance pack", pack.day.isoformat(), pack.currency, "minor units"])
    writer.writerow([])
    writer.writerow(["Trial balance"])
    writer.writerow(list(TrialOut.model_fields))
    for line in pack.trial_balance:
        writer.writerow(list(line.model_dump().values()))
    writer.writerow([])
    writer.writerow(["Trust reconciliation"])
    trust = pack.trust
    for label, value in (
        ("E-money outstanding", trust.emoney_outstanding),
        ("Trust mirror", trust.trust_mirror),
        ("Difference", trust.difference),
        ("Bank balance", "" if trust.bank_balance is None else trust.bank_balance),
        ("Bank difference", "" if trust.bank_difference is None else trust.bank_difference),
        ("On hold", trust.on_hold),
    ):
        writer.writerow([label, value])
    writer.writerow(list(MovementOut.model_fields))
    for movement in trust.movements:
        writer.writerow(list(movement.model_dump().values()))
    writer.writerow([])
    writer.writerow(["Volumes and values"])
    writer.writerow(list(VolumeOut.model_fields))
    for volume in [*pack.volumes, pack.totals]:
        writer.writerow(list(volume.model_dump().values()))
    return out.getvalue().encode("utf-8")


def router(console: ConsoleChannel) -> APIRouter:
    """The finance routes over ``console``."""
    api = APIRouter(prefix="/staff/v1/finance", tags=["finance"])

    @api.get(
        "/pack",
        response_model=Pack,
        responses={200: {"content": {"application/json": {}, "text/csv": {}}}, 403: {}},
    )
    async def pack(
        http: Request,
        day: dt.date,
        bank: int | None = Query(None, ge=0, description="the trust bank account's balance"),
        format: Literal["json", "csv"] = "json",
    ) -> Response:
        """The daily finance pack for ``day``."""
        who = await caller(console, http)
        may_see_finance(console, who)
        made = await make_pack(console, day, bank)
        detail: dict[str, object] = {"day": day.isoformat(), "format": format}
        await record(console, who, origin(http), "finance.pack", detail=detail)
        if format == "csv":
            name = f"finance-pack-{day.isoformat()}.csv"
            headers = {"Content-Disposition": f'attachment; filename="{name}"'}
            return Response(pack_csv(made), media_type="text/csv; charset=utf-8", headers=headers)
        return Response(made.model_dump_json(), media_type="application/json")

    return api
