"""Committing business transactions: the money, its receipt and its messages, in one batch.

A product's ``Plan`` becomes linked ledger transfers (``transfers.py``) plus rows
(``rows.py``) attached to the same database transaction. Where the channel has a
response-delivery deadline (M-Pesa's first-generation rule), the money moves as
pending transfers in phase one; delivery of the response posts them (phase two),
and a missed deadline voids them. Rows are chosen inside the writer's batch from
the ledger's own results, so a receipt exists exactly when its money moved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from mkoba.codes import Code
from mkoba.ledger import Transfer, TransferResult, Write
from mkoba.parties import Change
from mkoba.processor import ids
from mkoba.processor.moments import moment
from mkoba.processor.plan import Plan, Record
from mkoba.processor.request import Request, Response
from mkoba.processor.rows import Rows, Stamp
from mkoba.processor.settlement import Settlement, encode
from mkoba.processor.status import Status
from mkoba.processor.transfers import (
    delivery_deadline_s,
    refusal,
    resolutions_for,
    transfers_for,
)

if TYPE_CHECKING:
    from mkoba.processor.services import Services

# The ledger holds a reservation this much longer than the processor's own deadline,
# so the processor's void (which also tells the customer) normally comes first.
ledger_grace_s = 10
# An external effect (an airtime top-up) must answer within this.
effect_timeout_s = 20


class Outcome(NamedTuple):
    """What phase one decided: the response, and whether delivery must now be awaited."""

    response: Response
    awaiting: Awaiting | None
    # The response as stored for replays (serialised once, where the commit made it).
    stored: str = ""


class Rollback(NamedTuple):
    """What a rollback needs, whether the processor still remembers the plan or not."""

    request_id: str
    number: int
    receipt: str
    legs: int
    payer_id: int
    usage: int
    created: int
    # Whether phase one stored the settlement (``pending_settlements``): the commit
    # that ends the request scrubs it.
    kept: bool = False


class Awaiting(NamedTuple):
    """A committed phase one whose response has not been delivered yet.

    Everything posting or voiding it needs, without the product's plan, so that a
    processor started after a crash can rebuild it from the store (``recovery.py``).
    """

    rollback: Rollback
    # The requester: phase two holds this number's lock, as phase one did.
    msisdn: str
    response: Response
    # When the processor voids it, if no delivery came (ns).
    deadline: int
    settlement: Settlement
    # ``response`` as stored, for the settlement's update of the request's row.
    stored: str = ""

    @property
    def request_id(self) -> str:
        """The request's id (its idempotency key)."""
        return self.rollback.request_id


async def submit(
    services: Services,
    transfers: list[Transfer],
    attach: Callable[[list[TransferResult]], list[Write]],
) -> list[TransferResult]:
    """Hand transfers and their rows to the ledger writer; resolve once durable."""
    return await services.writer.submit_async(transfers, attach)


async def first(
    services: Services,
    request: Request,
    party_id: int,
    plan: Plan,
    now: int,
    *,
    fingerprint: str | None = None,
    checked: Change | None = None,
    hold: tuple[int, str] | None = None,
) -> Outcome:
    """Phase one: move the money (pending when the channel has a deadline) with its records.

    ``checked``: what the request's PIN check changed; committed whatever the outcome.
    ``hold``: the risk rules hold it (seconds, the message): the money is reserved,
    pending, and the answer is ``held_for_review`` until compliance releases it.
    """
    profile = services.profile(now)
    deadline_s = hold[0] if hold else delivery_deadline_s(profile, str(request.channel))
    number = services.counter.next()
    # An external effect needs the money reserved first, whatever the channel.
    two_phase = bool(deadline_s) or plan.effect is not None
    timeout_s = (deadline_s or effect_timeout_s) + ledger_grace_s if two_phase else 0
    transfers = transfers_for(plan, number, profile.ledger, timeout_s)
    deadline = now + (deadline_s or effect_timeout_s) * 1_000_000_000
    # What posting it commits is stored with phase one where a channel's delivery is
    # awaited, so a processor started after a crash can still post it. An effect's
    # outcome is decided here: a crash before it leaves it to be rolled back at start.
    kept = bool(deadline_s) and plan.effect is None
    settlement = Settlement.of(plan)
    kept_body = encode(settlement, services.transport_key, number) if kept else ""
    stamp = Stamp.of(now, profile)
    names = moment(now, profile.timezone)
    receipt = ids.receipt_id(number, names.local)
    day = names.day
    usage_key = (plan.payer_id, day, "value")
    used = services.usage.get(usage_key, 0) + plan.usage
    # Paying someone looked up by name today gives that look-up back (Hakikisha's cap
    # is against snooping, not against checking a name before paying).
    looked = services.lookups.get(plan.payer_id)
    refund = looked is not None and looked[0] == day and plan.payee_id in looked[1]
    lookups_key = (plan.payer_id, day, "lookups")
    lookups_left = max(0, services.usage.get(lookups_key, 0) - 1)
    rows = Rows(services, services.writer.engine)
    decided: list[tuple[Response, str]] = []
    checked_writes = checked.writes() if checked is not None else []

    def attach(results: list[TransferResult]) -> list[Write]:
        if not all(result is TransferResult.OK for result in results):
            code = refusal(results, plan.legs)
            response = Response(request.id, code, code.message)
            stored = response.to_json()
            decided.append((response, stored))
            return [
                rows.request_row(
                    request, number, party_id, response, Status.FAILED, now, fingerprint, stored
                ),
                *checked_writes,
            ]
        data = dict(plan.data, receipt=receipt)
        if plan.balance_of:
            data["balance"] = rows.available(plan.balance_of)
        if hold:
            response = Response(request.id, Code.HELD_FOR_REVIEW, hold[1], receipt, data)
        else:
            response = Response(request.id, Code.OK, plan.message or Code.OK.message, receipt, data)
        stored = response.to_json()
        decided.append((response, stored))
        status = Status.PENDING if two_phase else Status.COMPLETED
        out = [
            rows.request_row(request, number, party_id, response, status, now, fingerprint, stored),
            rows.receipt_row(request, number, plan, receipt, status, profile, now),
        ]
        if plan.usage:
            out.append(rows.usage(plan.payer_id, day, "value", used))
        if refund:
            out.append(rows.usage(plan.payer_id, day, "lookups", lookups_left))
        out.extend(checked_writes)
        out.extend(rows.filled(row, receipt, now) for row in plan.records)
        if plan.change is not None:
            out.extend(plan.change.writes())
        if kept:
            out.append(rows.pending_settlement(number, request.msisdn, deadline, kept_body))
        if not two_phase:
            out.extend(rows.settled(settlement, number, request.id, receipt, stamp, profile))
        return out

    await submit(services, transfers, attach)
    if checked is not None:
        services.directory.apply(checked)
    # The last run's: the writer runs attach again when it decides a batch again.
    response, stored = decided[-1]
    if not response.ok and response.code is not Code.HELD_FOR_REVIEW:
        return Outcome(response, None, stored)
    if plan.usage:
        services.usage[usage_key] = used
    if refund and looked is not None:
        services.usage[lookups_key] = lookups_left
        looked[1].discard(plan.payee_id)
    if plan.change is not None:
        services.directory.apply(plan.change)
    if not two_phase:
        return Outcome(response, None, stored)
    rollback = Rollback(
        request.id, number, receipt, len(plan.legs), plan.payer_id, plan.usage, now, kept
    )
    awaiting = Awaiting(rollback, request.msisdn, response, deadline, settlement, stored)
    if plan.effect is None:
        return Outcome(response, awaiting, stored)
    return await _effect(services, awaiting, plan)


async def _effect(services: Services, awaiting: Awaiting, plan: Plan) -> Outcome:
    """Run the plan's external effect on reserved money; post (whatever the channel) or void."""
    assert plan.effect is not None
    assert not awaiting.rollback.kept
    try:
        done = await asyncio.wait_for(plan.effect(), effect_timeout_s)
    except Exception:  # a failed or slow effect: the money goes back
        done = False
    if not done:
        code = plan.effect_failed
        failed = Response(awaiting.request_id, code, code.message)
        await roll_back(
            services, awaiting.rollback, services.clock(), notify=False, response=failed
        )
        return Outcome(failed, None)
    # The effect happened outside and cannot be undone (the airtime is on the phone): the
    # money moves now, whatever becomes of the response's delivery, or the operator
    # would give airtime away whenever a response was lost.
    await settle(services, awaiting, services.clock())
    return Outcome(awaiting.response, None, awaiting.stored)


async def settle(services: Services, awaiting: Awaiting, now: int) -> bool:
    """Phase two on delivery: post the pending legs, complete the receipt, send the messages."""
    rollback = awaiting.rollback
    number, receipt = rollback.number, rollback.receipt
    profile = services.profile(rollback.created)
    stamp = Stamp.of(now, profile)
    rows = Rows(services, services.writer.engine)

    def attach(results: list[TransferResult]) -> list[Write]:
        if not all(result is TransferResult.OK for result in results):
            return []
        out = [
            rows.request_update(number, Status.COMPLETED, awaiting.response, now, awaiting.stored),
            rows.receipt_update(receipt, Status.COMPLETED, now),
        ]
        if rollback.kept:
            out.append(rows.settlement_done(number))
        settled = rows.settled(
            awaiting.settlement, number, rollback.request_id, receipt, stamp, profile
        )
        out.extend(settled)
        return out

    transfers = resolutions_for(rollback.legs, number, post=True)
    results = await submit(services, transfers, attach)
    # EXISTS: this very post committed before (its store failed while answering): the
    # rows went with it, and it is done.
    return all(result in (TransferResult.OK, TransferResult.EXISTS) for result in results)


async def roll_back(
    services: Services,
    rollback: Rollback,
    now: int,
    *,
    void: bool = True,
    notify: bool = True,
    response: Response | None = None,
) -> bool:
    """Phase two without delivery: void the legs, mark the request rolled back, tell the payer.

    With ``void`` False the ledger already expired the legs itself (the processor
    was down at the deadline): only the records and the message remain to do.
    """
    profile = services.profile(rollback.created)
    created = Stamp.of(rollback.created, profile)
    day = moment(rollback.created, profile.timezone).day
    usage_key = (rollback.payer_id, day, "value")
    used = max(0, services.usage.get(usage_key, 0) - rollback.usage)
    payer = services.directory.get(rollback.payer_id)
    rows = Rows(services, services.writer.engine)
    if response is None:
        response = Response(rollback.request_id, Code.ROLLED_BACK, Code.ROLLED_BACK.message)

    def attach(results: list[TransferResult]) -> list[Write]:
        if not all(result is TransferResult.OK for result in results):
            return []
        out = [
            rows.request_update(rollback.number, Status.ROLLED_BACK, response, now),
            rows.receipt_update(rollback.receipt, Status.ROLLED_BACK, now),
        ]
        if rollback.usage:
            out.append(rows.usage(rollback.payer_id, day, "value", used))
        if rollback.kept:
            out.append(rows.settlement_done(rollback.number))
        if notify and payer is not None and payer.msisdn is not None:
            params = {"date": created.date, "time": created.time}
            out.append(
                rows.outbox(
                    rollback.number,
                    15,
                    rollback.request_id,
                    payer.msisdn,
                    payer.language,
                    "rolled_back",
                    params,
                    now,
                )
            )
        return out

    transfers = resolutions_for(rollback.legs, rollback.number, post=False) if void else []
    results = await submit(services, transfers, attach)
    done = all(result is TransferResult.OK for result in results)
    if done and rollback.usage:
        services.usage[usage_key] = used
    return done


async def record(
    services: Services,
    request: Request,
    record: Record,
    now: int,
    *,
    fingerprint: str | None = None,
    checked: Change | None = None,
) -> Response:
    """Commit a non-money outcome: the request row, the directory change, the messages.

    ``checked``: what the request's PIN check changed, committed first (the record's
    own change, a new PIN, comes after it and wins).
    """
    if checked is not None:
        record = record._replace(change=checked.then(record.change))
    number = services.counter.next()
    rows = Rows(services, services.writer.engine)
    profile = services.profile(now)
    stamp = Stamp.of(now, profile)
    status = Status.COMPLETED if record.response.ok else Status.FAILED
    writes = [
        rows.request_row(
            request, number, record.party_id, record.response, status, now, fingerprint
        )
    ]
    if record.change is not None:
        writes.extend(record.change.writes())
    writes.extend(record.rows)
    for index, note in enumerate(record.notes):
        writes.append(rows.note(number, index, request.id, note, "", stamp, profile))
    await submit(services, [], lambda _results: writes)
    if record.change is not None:
        services.directory.apply(record.change)
    return record.response
