"""Releasing or refusing a payment the risk rules held, from its compliance alert.

An inline rule that holds a customer's payment commits it pending (the money reserved)
and raises an alert whose details say ``"action": "hold"`` and the ``request_id``.
Compliance decides here: ``POST /staff/v1/alerts/{id}/release`` posts the payment,
``/refuse`` gives the money back (TranProc's ``release``, which the composition root
hands the console in ``Books``); both with a reason (``text``), required. The alert then
carries a note saying what was done and leaves the queue's work as its transitions
allow: a released payment's alert is dismissed (not suspicious, and why); a refused
one's is escalated to the reporting officer (suspicion formed: the STR clock starts),
or stays escalated if it was.

The policy's ``hold_release`` action decides who (compliance: ``do``; the auditor sees
whether a payment is held). Nobody decides on a payment from or to their own wallet.
Every attempt, done, refused or failed, is audited (``alerts.release``, ``alerts.refuse``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mkoba.channels.console import alert_routes
from mkoba.channels.console.alert_routes import AlertOut, alert_out, may_see_alerts
from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.channels.console.pages import read_form
from mkoba.edge.validation import validation_message
from mkoba.processor.status import Status
from mkoba.risk import alerts as book
from mkoba.risk.alert_schema import ESCALATED, LIVE, Alert
from mkoba.staff.policy import Mode
from mkoba.text import text_problem

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

log = logging.getLogger(__name__)

RELEASED = "released the held payment"
REFUSED = "refused the held payment: "
# The reason goes into the alert's note after REFUSED, and a note holds 1,000 characters.
reason_chars_max = book.note_chars_max - len(REFUSED)


class HoldDecision(BaseModel):
    """Why compliance releases or refuses the payment (``text``, required)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field("", max_length=reason_chars_max)


def decides(console: ConsoleChannel, who: Caller) -> bool:
    """Whether ``who`` may release or refuse held payments (not only see them)."""
    return console.policy.may(who.account.role, "hold_release", Mode.DO)


async def decide(
    console: ConsoleChannel,
    who: Caller,
    where: str,
    alert_id: int,
    approve: bool,
    body: HoldDecision,
) -> AlertOut:
    """Release (``approve``) or refuse the payment alert ``alert_id`` holds; audited."""
    entity = f"alert:{alert_id}"
    action = "alerts.release" if approve else "alerts.refuse"
    try:
        queue = may_see_alerts(console, who)
        if not decides(console, who):
            raise Refusal(403, "Your role may see held payments but not release or refuse them.")
        reason = _reason(body.text)
        alert = await _held_alert(console, who, queue, alert_id)
        request_id = alert_routes.held_request(alert)
        try:
            done = await console.reads.books.release(request_id, approve)
        except Exception as error:  # the store failed while posting, say: the alert stays
            failed: dict[str, object] = {"request_id": request_id, "error": type(error).__name__}
            await record(console, who, where, action, "failed", entity=entity, detail=failed)
            raise
        if not done:
            raise Refusal(409, await _gone(console, alert_id, request_id))
    except Refusal as refusal:
        detail: dict[str, object] = {"status": refusal.status, "why": refusal.message}
        await record(console, who, where, action, "refused", entity=entity, detail=detail)
        raise
    changed = await _close(queue, alert, who.account.username, approve, reason)
    detail = {
        "request_id": request_id,
        "amount": alert.details.get("amount", 0),
        "reason": reason,
        "state": changed.state,
    }
    await record(console, who, where, action, entity=entity, detail=detail)
    shown = alert_out(console, who, changed, console.ports.clock(), await queue.notes(alert_id))
    shown.held = False
    return shown


def _reason(text: str) -> str:
    reason = text.strip()
    if not reason:
        raise Refusal(422, "text: say why (it is required)")
    problem = text_problem(reason)
    if problem is not None:
        raise Refusal(422, f"text {problem}")
    return reason


async def _held_alert(
    console: ConsoleChannel, who: Caller, queue: book.Alerts, alert_id: int
) -> Alert:
    """The live alert about a held payment; ``Refusal`` for any other, or one's own."""
    alert = await queue.get(alert_id)
    if alert is None:
        raise Refusal(404, f"There is no alert {alert_id}.")
    if who.account.phone and alert.msisdn == who.account.phone:
        raise Refusal(403, "This alert is about your own wallet: a colleague decides it.")
    mine = console.reads.directory.by_msisdn(who.account.phone) if who.account.phone else None
    if mine is not None and alert.details.get("payee_id") == mine.id:
        raise Refusal(403, "This payment is to your own wallet: a colleague decides it.")
    if not alert_routes.held_request(alert):
        raise Refusal(409, f"Alert {alert_id} is not about a held payment.")
    if alert.state not in LIVE:
        raise Refusal(
            409, f"Alert {alert_id} is {alert.state}: its payment is decided on a live alert."
        )
    return alert


async def _gone(console: ConsoleChannel, alert_id: int, request_id: str) -> str:
    """Why the payment of an alert cannot be released or refused: it is not held now."""
    found = await alert_routes.outcome(console, request_id)
    status = None if found is None else found[0]
    if status is Status.COMPLETED:
        return f"The payment of alert {alert_id} is not held any more: it was released and paid."
    if status is Status.ROLLED_BACK:
        return (
            f"The payment of alert {alert_id} is not held any more: it was refused, or its"
            " hold ran out, and the money went back to the payer."
        )
    return f"The payment of alert {alert_id} is not held (any more)."


async def _close(queue: book.Alerts, alert: Alert, staff: str, approve: bool, reason: str) -> Alert:
    """The alert after the decision: its note, then dismissed (released) or escalated.

    The money has moved already: an alert another member of staff closed meanwhile
    keeps its state (logged), and the decision stands.
    """
    try:
        if approve:
            await queue.note(alert.id, staff, RELEASED)
            return await queue.dismiss(alert.id, staff, reason)
        noted = await queue.note(alert.id, staff, REFUSED + reason)
        if noted.state == ESCALATED:
            return noted
        return await queue.escalate(alert.id, staff, reason)
    except (book.Refused, book.Invalid, book.NoSuchAlert) as problem:
        log.warning("alert %d's payment decided; the alert did not change: %s", alert.id, problem)
        found = await queue.get(alert.id)
        return found if found is not None else alert


def router(console: ConsoleChannel) -> APIRouter:
    """The held-payment decisions: the JSON routes and the alert page's form actions.

    Mounted before the alert routes, whose ``/{verb}`` would take these paths.
    """
    api = APIRouter(tags=["alerts"])

    @api.post(
        "/staff/v1/alerts/{alert_id}/release",
        response_model=AlertOut,
        responses={403: {}, 404: {}, 409: {}, 422: {}},
    )
    async def release(alert_id: int, body: HoldDecision, http: Request) -> AlertOut:
        """Post the held payment (``text``: why, required); the alert is dismissed."""
        who = await caller(console, http, writes=True)
        return await decide(console, who, origin(http), alert_id, True, body)

    @api.post(
        "/staff/v1/alerts/{alert_id}/refuse",
        response_model=AlertOut,
        responses={403: {}, 404: {}, 409: {}, 422: {}},
    )
    async def refuse(alert_id: int, body: HoldDecision, http: Request) -> AlertOut:
        """Give the payer the money back (``text``: why, required); the alert is escalated."""
        who = await caller(console, http, writes=True)
        return await decide(console, who, origin(http), alert_id, False, body)

    @api.post("/staff/ui/alerts/{alert_id}/release", include_in_schema=False)
    async def release_page(alert_id: int, http: Request) -> Response:
        """The alert page's release form."""
        return await _form(console, http, alert_id, True)

    @api.post("/staff/ui/alerts/{alert_id}/refuse", include_in_schema=False)
    async def refuse_page(alert_id: int, http: Request) -> Response:
        """The alert page's refusal form."""
        return await _form(console, http, alert_id, False)

    return api


async def _form(console: ConsoleChannel, http: Request, alert_id: int, approve: bool) -> Response:
    who = await caller(console, http, writes=True)
    fields = await read_form(http)
    try:
        body = HoldDecision(text=fields.get("text", ""))
    except ValidationError as invalid:
        raise Refusal(422, validation_message(invalid.errors())) from None
    await decide(console, who, origin(http), alert_id, approve, body)
    return Response(status_code=204, headers={"HX-Redirect": f"/staff/alerts/{alert_id}"})
