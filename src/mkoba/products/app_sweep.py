"""Background work of the app's products: bill reminders and lapsed gift vouchers.

Run by ``background`` on each sweep. A friend who has not paid their share of a
bill gets a reminder by SMS every ``requests.reminder_interval`` of the profile
in force, at most ``requests.reminders_max`` times, and none once they have
paid, declined or the request has lapsed. A gift not used within
``gifts.validity`` goes back to its buyer (the fee kept); a gift row whose
purchase was rolled back is closed. Each decision is made under its record's
lock, as a payment or a redemption takes it, and committed through TranProc's
``settle``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import NamedTuple

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.ledger import Write
from mkoba.money import format_amount
from mkoba.parties import OPERATOR_ID, Purpose, local_msisdn
from mkoba.processor.guarded import Posting, settle
from mkoba.processor.plan import Line, Note, Plan, Posted, Record
from mkoba.processor.request import Channel, Request, Response
from mkoba.processor.services import Services
from mkoba.products import gift_book, request_book
from mkoba.products.common import display_name
from mkoba.products.gift_book import Gift
from mkoba.products.request_book import MoneyRequest
from mkoba.products.requests import note_text

log = logging.getLogger("mkoba.products")

# At most this many reminders and gifts are settled by one sweep (the next does the rest).
sweep_reminders_max = 500
sweep_gifts_max = 500
# A gift row whose purchase has had no receipt for this long never completed.
abandoned_after_s = 600


class Swept(NamedTuple):
    """What one sweep of the app's products did."""

    reminded: int
    refunded: int
    voided: int


async def sweep(services: Services, now: int | None = None) -> Swept:
    """Send the reminders that are due; refund lapsed gifts; close dead gift rows."""
    now = services.clock() if now is None else now
    reminded = await remind(services, now)
    refunded = voided = 0
    for gift in await gift_book.issued(services.store, sweep_gifts_max):
        if gift.purchase_status != "completed":
            stale = now - gift.created > abandoned_after_s * 1_000_000_000
            if gift.purchase_status == "rolled_back" or (not gift.purchase_status and stale):
                voided += await gift_book.void(services, gift, now)
            continue
        if gift.expires <= now:
            refunded += await _refund(services, gift, now)
    return Swept(reminded, refunded, voided)


# -- reminders ----------------------------------------------------------------------


async def remind(services: Services, now: int) -> int:
    """Remind every friend whose share of a bill is due a reminder; how many were sent."""
    rules = services.profile(now).requests
    if not rules.reminders_max:
        return 0
    interval_ns = int(rules.reminder_interval.total_seconds()) * 1_000_000_000
    due = await request_book.reminders_due(
        services.store, now - interval_ns, now, rules.reminders_max, sweep_reminders_max
    )
    sent = 0
    for request in due:
        sent += await _remind_one(services, request, now, interval_ns, rules.reminders_max)
    return sent


async def _remind_one(
    services: Services, request: MoneyRequest, now: int, interval_ns: int, reminders_max: int
) -> bool:
    """One reminder, if the request is still open and due when read under its lock."""
    payer = services.directory.get(request.payer_id)
    organiser = services.directory.get(request.requester_id)
    if payer is None or organiser is None or not payer.msisdn:
        return False
    count = request.reminders + 1
    system = Request(
        f"bill-reminder:{request.request_id}:{count}",
        Channel.SYSTEM,
        "bill_reminder",
        payer.msisdn,
        commands.NoInput(),
    )
    profile = services.profile(now)
    params = {
        "name": display_name(organiser),
        "msisdn": local_msisdn(organiser.msisdn, profile.country) if organiser.msisdn else "",
        "amount": format_amount(request.amount, profile.currency),
        "note": note_text(request.note),
        "number": request.number,
        "expires": _day(services, request.expires),
    }
    # A reminder moves no money: a posting without transfers commits its SMS and the
    # request's count together, under the request's lock, so a request paid meanwhile
    # is never reminded and two sweeps never send one reminder twice.
    plan = Plan(
        product="bill_reminder",
        payer_id=OPERATOR_ID,
        payee_id=payer.id,
        amount=0,
        legs=(),
        reference=request.number,
        notes=(Note(payer.msisdn, payer.language, "request.reminder", params),),
    )

    def decide(current: MoneyRequest) -> Posting | Record:
        due = current.reminded <= now - interval_ns and current.reminders < reminders_max
        if not (current.open(now) and due and current.reminders == request.reminders):
            return Record(Response(system.id, Code.OK, "not due"), OPERATOR_ID)

        def rows(_number: int, _receipt: str) -> list[Write]:
            return [request_book.reminded_row(current.request_id, count, now)]

        def answer(posted: Posted) -> Record:
            code = Code.OK if posted.ok else Code.SYSTEM_ERROR
            return Record(Response(system.id, code, code.message), OPERATOR_ID)

        return Posting(plan, rows, answer, transfers=(), receipt=False)

    guarded = request_book.guarded(services.store, request.request_id, decide)
    settled = await settle(services, services.record_locks, system, guarded, now)
    return settled.posted is not None and settled.posted.ok


def _day(services: Services, when: int) -> str:
    """A day as the SMS shows it (``30/11/26``)."""
    zone = services.profile(when).timezone
    return dt.datetime.fromtimestamp(when / 1e9, zone).strftime("%d/%m/%y")


# -- gifts --------------------------------------------------------------------------


async def _refund(services: Services, gift: Gift, now: int) -> bool:
    """Give a lapsed gift's money back to its buyer."""
    buyer = services.directory.get(gift.buyer_id)
    account = services.directory.account(gift.buyer_id, Purpose.WALLET)
    if buyer is None or account is None:
        log.warning("gift %s: its buyer has no wallet to refund", gift.receipt)
        return False
    profile = services.profile(now)
    params = {
        "amount": format_amount(gift.amount, profile.currency),
        "msisdn": local_msisdn(gift.recipient, profile.country),
        "gift": gift.receipt,
    }
    notes = (Note(buyer.msisdn or "", buyer.language, "gift.refunded", params, account),)
    settlement = gift_book.Settlement(
        product="gift_refund",
        state=gift_book.REFUNDED,
        account=account,
        payee_id=buyer.id,
        notes=notes if buyer.msisdn else (),
        lines=(Line(buyer.id, account, f"Gift {gift.receipt} returned", gift.amount),),
        lapsed=True,
    )
    system = Request(
        f"gift-refund:{gift.receipt}",
        Channel.SYSTEM,
        "gift_refund",
        buyer.msisdn or "system",
        commands.NoInput(),
    )

    def answer(_settled: Gift, posted: Posted | None) -> Record:
        code = Code.OK if posted is not None and posted.ok else Code.SYSTEM_ERROR
        return Record(Response(system.id, code, code.message), OPERATOR_ID)

    guarded = gift_book.settling(services, gift, settlement, system, now, answer)
    posted = (await settle(services, services.record_locks, system, guarded, now)).posted
    if posted is not None and not posted.ok:
        log.warning("gift %s: refund refused by the ledger", gift.receipt)
    return posted is not None and posted.ok
