"""``/staff/v1/alerts``: the compliance alert queue, each alert's history, and triage.

The risk rules raise alerts (``mkoba.risk.alerts``, the owner of their tables, handed
to the console by ``app.py``); compliance works them here: give one to themselves or
to a colleague, note it, escalate it to the reporting officer, dismiss it saying why,
or mark its suspicious transaction report filed. The STR clock (2 days from the
suspicion) shows as time left, and an overdue one is marked.

The policy's ``alerts`` action decides who: ``do`` works alerts (compliance), ``view``
reads them (the auditor). Every look and every action, done or refused, is audited.
Phone numbers are masked as the customer 360 masks them. Nobody acts on an alert about
their own wallet. An alert about a payment the rules held says whether it is still
held (``held``); releasing or refusing it is ``hold_routes``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.codes import Code
from mkoba.parties import local_msisdn, mask_msisdn
from mkoba.processor import history
from mkoba.processor.status import Status
from mkoba.risk import alerts as book
from mkoba.risk.alert_schema import ACTIONS, STATES, Alert, Note
from mkoba.staff import accounts
from mkoba.staff.policy import Mode

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

page_size = 50
offset_max = 10_000
STATE_PATTERN = r"^(open|assigned|escalated|dismissed|reported|live|all)?$"
RULE_PATTERN = r"^[A-Za-z0-9_.-]{0,32}$"
# The states a page filters by: the live ones together, each state, or all.
STATES_SHOWN = ("live", *STATES, "all")
# What staff may do to an alert (each audited as ``alerts.<verb>``).
VERBS = frozenset(ACTIONS)


class NoteOut(BaseModel):
    """One action in an alert's history."""

    seq: int
    at: int
    staff: str
    action: str
    text: str


class AlertOut(BaseModel):
    """An alert as staff see it."""

    id: int
    rule: str
    party_id: int
    phone: str
    severity: str
    state: str
    assignee: str
    summary: str
    details: dict[str, Any]
    # The STR clock: when the report is due (0: none), seconds left (negative: overdue;
    # None once the alert is closed or when no clock runs), and whether it is overdue.
    str_due: int
    str_left_s: int | None
    overdue: bool
    created: int
    updated: int
    notes: list[NoteOut] = []
    # For an alert about a payment the rules held: whether it is held still (money
    # reserved, waiting for compliance); None for any other alert, or in a list.
    held: bool | None = None


class AlertAction(BaseModel):
    """What an action needs: ``to`` (assign: a username, '' for yourself), ``text``
    (the note, the reason for a dismissal, escalation or reopening, an STR's reference)."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field("", max_length=accounts.username_chars_max)
    text: str = Field("", max_length=book.note_chars_max)


def may_see_alerts(console: ConsoleChannel, who: Caller) -> book.Alerts:
    """The alert queue, or ``Refusal``: the role has no part in it, or none is kept here."""
    if not console.policy.sees(who.account.role, "alerts"):
        raise Refusal(403, "Your role has no part in compliance alerts.")
    if console.alerts is None:
        raise Refusal(404, "This server keeps no compliance alerts.")
    return console.alerts


def works(console: ConsoleChannel, who: Caller) -> bool:
    """Whether ``who`` may work alerts (not only read them)."""
    return console.policy.may(who.account.role, "alerts", Mode.DO)


def alert_out(
    console: ConsoleChannel, who: Caller, alert: Alert, now: int, notes: list[Note] | None = None
) -> AlertOut:
    """An alert as ``who`` may see it, its clock as of ``now``."""
    unmasked = console.policy.may(who.account.role, "customer_unmasked", Mode.VIEW)
    phone = ""
    if alert.msisdn:
        phone = local_msisdn(alert.msisdn) if unmasked else mask_msisdn(alert.msisdn)
    left = alert.str_left_ns(now)
    return AlertOut(
        **{k: v for k, v in alert._asdict().items() if k not in ("key", "msisdn")},
        phone=phone,
        str_left_s=None if left is None else left // 1_000_000_000,
        overdue=alert.overdue(now),
        notes=[
            NoteOut(seq=n.seq, at=n.at, staff=n.staff, action=n.action, text=n.text)
            for n in notes or ()
        ],
    )


def held_request(alert: Alert) -> str:
    """The request id of the payment a hold alert is about, or '' for any other alert."""
    request_id = alert.details.get("request_id")
    if alert.details.get("action") != "hold" or not isinstance(request_id, str):
        return ""
    return request_id


async def outcome(console: ConsoleChannel, request_id: str) -> tuple[Status, Code] | None:
    """Where a request stands in TranProc's records, and its answer's code."""
    found = await asyncio.to_thread(history.outcome, console.tables, request_id)
    return None if found is None else (found[0], found[1].code)


async def still_held(console: ConsoleChannel, request_id: str) -> bool:
    """Whether that payment is held for compliance now (pending, answered as held)."""
    return await outcome(console, request_id) == (Status.PENDING, Code.HELD_FOR_REVIEW)


async def listing(
    console: ConsoleChannel,
    who: Caller,
    where: str,
    state: str,
    rule: str,
    overdue: bool,
    page: int,
    mine: bool = False,
) -> list[AlertOut]:
    """A page of alerts, audited."""
    queue = may_see_alerts(console, who)
    offset = page * page_size
    if offset > offset_max:
        raise Refusal(422, f"page: at most {offset_max // page_size}.")
    found = await queue.list(
        state=None if state in ("", "all") else state,
        assignee=who.account.username if mine else None,
        limit=page_size,
        offset=offset,
        rule=rule or None,
        overdue=overdue,
    )
    detail: dict[str, object] = {
        "state": state, "rule": rule, "overdue": overdue, "mine": mine, "page": page,
        "rows": len(found),
    }  # fmt: skip
    await record(console, who, where, "alerts.list", detail=detail)
    now = console.ports.clock()
    return [alert_out(console, who, alert, now) for alert in found]


async def one(console: ConsoleChannel, who: Caller, where: str, alert_id: int) -> AlertOut:
    """One alert with its history, audited."""
    queue = may_see_alerts(console, who)
    found = await queue.get(alert_id)
    if found is None:
        raise Refusal(404, f"There is no alert {alert_id}.")
    notes = await queue.notes(alert_id)
    await record(console, who, where, "alerts.view", entity=f"alert:{alert_id}")
    shown = alert_out(console, who, found, console.ports.clock(), notes)
    request_id = held_request(found)
    if request_id and console.policy.sees(who.account.role, "hold_release"):
        shown.held = await still_held(console, request_id)
    return shown


async def act(
    console: ConsoleChannel, who: Caller, where: str, alert_id: int, verb: str, body: AlertAction
) -> AlertOut:
    """Work an alert (compliance); every attempt is audited, done or refused."""
    if verb not in VERBS:
        raise Refusal(404, "No such action on an alert.")
    entity, action = f"alert:{alert_id}", f"alerts.{verb}"
    try:
        queue = may_see_alerts(console, who)
        if not works(console, who):
            raise Refusal(403, "Your role may read alerts but not work them.")
        changed = await _apply(console, who, queue, alert_id, verb, body)
    except Refusal as refusal:
        detail: dict[str, object] = {"status": refusal.status, "why": refusal.message}
        await record(console, who, where, action, "refused", entity=entity, detail=detail)
        raise
    detail = {"state": changed.state, "assignee": changed.assignee}
    await record(console, who, where, action, entity=entity, detail=detail)
    return alert_out(console, who, changed, console.ports.clock(), await queue.notes(alert_id))


async def _apply(
    console: ConsoleChannel,
    who: Caller,
    queue: book.Alerts,
    alert_id: int,
    verb: str,
    body: AlertAction,
) -> Alert:
    """The action on the book; its refusals as the console answers them."""
    me = who.account.username
    found = await queue.get(alert_id)
    if found is None:
        raise Refusal(404, f"There is no alert {alert_id}.")
    if who.account.phone and found.msisdn == who.account.phone:
        raise Refusal(403, "This alert is about your own wallet: a colleague works it.")
    try:
        if verb == "assign":
            to = body.to or me
            await _may_hold(console, to)
            return await queue.assign(alert_id, me, to)
        if verb == "report":
            return await queue.report(alert_id, me, body.text)
        work = {
            "note": queue.note,
            "dismiss": queue.dismiss,
            "escalate": queue.escalate,
            "reopen": queue.reopen,
        }[verb]
        return await work(alert_id, me, body.text)
    except book.NoSuchAlert as missing:
        raise Refusal(404, str(missing)) from None
    except book.Refused as refused:
        raise Refusal(409, str(refused)) from None
    except book.Invalid as invalid:
        raise Refusal(422, str(invalid)) from None


async def _may_hold(console: ConsoleChannel, username: str) -> None:
    """``Refusal`` unless ``username`` is an enabled member whose role works alerts."""
    found = await asyncio.to_thread(accounts.by_username, console.tables, console.key, username)
    if found is None or not found.state.enabled:
        raise Refusal(422, f"to: there is no active member of staff {username!r}.")
    if not console.policy.may(found.role, "alerts", Mode.DO):
        raise Refusal(422, f"to: {username}'s role does not work compliance alerts.")


def router(console: ConsoleChannel) -> APIRouter:
    """The alert queue's JSON routes."""
    api = APIRouter(prefix="/staff/v1/alerts", tags=["alerts"])

    @api.get("", response_model=list[AlertOut], responses={403: {}, 404: {}})
    async def alerts(
        http: Request,
        state: str = Query("live", pattern=STATE_PATTERN),
        rule: str = Query("", pattern=RULE_PATTERN),
        overdue: bool = False,
        mine: bool = False,
        page: int = Query(0, ge=0),
    ) -> list[AlertOut]:
        """Alerts (``live`` by default: open, assigned, escalated), the STR due first."""
        who = await caller(console, http)
        return await listing(console, who, origin(http), state, rule, overdue, page, mine)

    @api.get("/{alert_id}", response_model=AlertOut, responses={403: {}, 404: {}})
    async def alert(alert_id: int, http: Request) -> AlertOut:
        """One alert with its history."""
        who = await caller(console, http)
        return await one(console, who, origin(http), alert_id)

    @api.post(
        "/{alert_id}/{verb}",
        response_model=AlertOut,
        responses={403: {}, 404: {}, 409: {}, 422: {}},
    )
    async def work(alert_id: int, verb: str, body: AlertAction, http: Request) -> AlertOut:
        """``assign`` (``to``), ``note``, ``dismiss``, ``escalate``, ``reopen`` (``text``:
        required) or ``report`` (``text``: the STR's reference, optional)."""
        who = await caller(console, http, writes=True)
        return await act(console, who, origin(http), alert_id, verb, body)

    return api
