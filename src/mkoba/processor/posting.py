"""Money posted outside a request's own plan: settling vouchers, holding and deciding reversals.

Settling a voucher, holding a reversal and deciding it are not a request's own
plan (they resolve earlier money, or happen in a sweep). The products that do
them re-read their record under its lock and ask TranProc to ``post`` the money
with the record's new state in one batch, exactly as ``commit.first`` does for
plans: the receipt, the record's new state, the statement lines and the
messages (rendered with the new balances) commit together with the money, or
not at all. The I/O is TranProc's; the products keep only the lock and the read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from mkoba.ledger import Transfer, TransferResult, Write
from mkoba.processor import ids
from mkoba.processor.plan import Plan, Posted
from mkoba.processor.request import Request
from mkoba.processor.rows import Rows, Stamp
from mkoba.processor.services import Services
from mkoba.processor.status import Status
from mkoba.processor.transfers import transfers_for


async def post(
    services: Services,
    request: Request,
    plan: Plan,
    now: int,
    *,
    transfers: Sequence[Transfer] | None = None,
    timeout_s: int = 0,
    receipt: bool = True,
    rows: Callable[[int, str], Sequence[Write]] = lambda _number, _receipt: (),
) -> Posted:
    """Commit ``plan``'s money (or ``transfers``) with its receipt, lines, notes and ``rows``.

    ``transfers`` default to the plan's legs, posted at once, or pending for
    ``timeout_s``. ``rows(number, receipt)`` are the record's own rows. Nothing but the
    money is written when the ledger refuses it.
    """
    profile = services.profile(now)
    number = services.counter.next()
    local = dt.datetime.fromtimestamp(now / 1e9, profile.timezone)
    receipt_id = ids.receipt_id(number, local)
    stamp = Stamp.of(now, profile)
    if transfers is None:
        transfers = transfers_for(plan, number, profile.ledger, timeout_s)
    builder = Rows(services, services.writer.engine)

    def attach(results: list[TransferResult]) -> list[Write]:
        if not all(result is TransferResult.OK for result in results):
            return []
        out: list[Write] = []
        if receipt:
            out.append(
                builder.receipt_row(
                    request, number, plan, receipt_id, Status.COMPLETED, profile, now
                )
            )
        out.extend(rows(number, receipt_id))
        out.extend(builder.settled(plan, number, request.id, receipt_id, stamp, profile))
        return out

    results = await services.writer.submit_async(list(transfers), attach)
    return Posted(results, number, receipt_id)
