"""Compliance alerts: what the risk rules raise, and how compliance staff work them.

A rule that fires (inline in TranProc, or over the event stream) raises an alert:
the rule, the party and phone, a severity, a plain-text summary and the details
(receipts, amounts in minor units, the window). The same hit raised twice is one
alert: the caller names what was hit with a ``key`` (by default the rule, the party
and the details), and a key seen before answers the alert it made.

Compliance works the queue (``docs/risk-alerts.md``)::

    open --assign--> assigned --escalate--> escalated
      |                 |                      |
      +-----------------+----------------------+--dismiss (a reason)--> dismissed
      +-----------------+----------------------+--report (STR filed)--> reported
    dismissed --reopen (a reason)--> open          reported: closed for good

Each action appends a row to the alert's history (``risk_alert_notes``) in the same
commit as the alert's change. An action the state does not allow is refused
(``Refused``), as is text that cannot be stored or is too long (``Invalid``).

The STR clock: a suspicious transaction report is due within 2 days after suspicion
arises (operator reference §5.1). An alert raised with ``str_clock`` is due 2 days
after it was raised; escalating an alert without a clock starts one then.

Ids are allocated here (the next after the highest) under a lock, and every change is
read, checked and written under it: build **one** ``Alerts`` per process that holds
the ledger writer, and hand it to whatever raises or works alerts there.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from mkoba.ports import Tables
from mkoba.risk import alert_schema as schema
from mkoba.risk.alert_schema import (
    ASSIGNED,
    DISMISSED,
    ESCALATED,
    LIVE,
    OPEN,
    REPORTED,
    SEVERITIES,
    STATES,
    Alert,
    Note,
)
from mkoba.text import text_problem

# The STR is due this long after suspicion arises (the FRC's 2 days).
STR_DUE_NS = 2 * 24 * 3600 * 1_000_000_000
summary_chars_max = 300
note_chars_max = 1_000
key_chars_max = 200
details_chars_max = 8_192
msisdn_chars_max = 20
page_max = 500
_RULE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_STAFF = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


class Invalid(ValueError):
    """What was given cannot make or change an alert (the message says which field)."""


class NoSuchAlert(LookupError):
    """There is no alert with that id."""


class Refused(ValueError):
    """The alert's state does not allow that action (the message says why)."""


class Alerts:
    """The alert queue over this package's tables (``alert_schema``)."""

    def __init__(self, tables: Tables, clock: Callable[[], int]) -> None:
        self._tables = tables
        self._clock = clock
        # Ids are the next after the highest, and each change reads before it writes.
        self._lock = asyncio.Lock()

    def migrate(self) -> None:
        """Make the tables (once)."""
        self._tables.migrate_script(schema.MIGRATION, schema.SCHEMA)

    # -- raising ----------------------------------------------------------------------

    async def raise_alert(
        self,
        rule: str,
        party_id: int,
        msisdn: str,
        severity: str,
        summary: str,
        details: dict[str, Any],
        str_clock: bool = False,
        *,
        key: str = "",
    ) -> int:
        """Raise an alert, or find the one raised for the same ``key``: its id.

        ``key``: what was hit, e.g. ``"R3:254712345678:2026-12-06"``; by default the
        rule, the party and a digest of the details (so the same events make one alert).
        ``str_clock``: the STR is due 2 days from now. ``Invalid`` names a bad field.
        """
        stored = _details(details)
        _check_raise(rule, party_id, msisdn, severity, summary)
        key = key or _default_key(rule, party_id, stored)
        _check_text("key", key, key_chars_max, required=True)
        async with self._lock:
            found = await self._read(schema.BY_KEY, key)
            if found:
                return schema.alert_of(found[0]).id
            (next_id,) = (await self._read(schema.NEXT_ID))[0]
            now = self._clock()
            alert = Alert(
                id=int(next_id),
                key=key,
                rule=rule,
                party_id=party_id,
                msisdn=msisdn,
                severity=severity,
                state=OPEN,
                assignee="",
                summary=summary,
                details=json.loads(stored),
                str_due=now + STR_DUE_NS if str_clock else 0,
                created=now,
                updated=now,
            )
            await self._tables.submit([schema.new_row(alert)])
        return alert.id

    # -- reading ----------------------------------------------------------------------

    async def get(self, alert_id: int) -> Alert | None:
        """One alert, or None."""
        rows = await self._read(schema.ONE, alert_id)
        return schema.alert_of(rows[0]) if rows else None

    async def notes(self, alert_id: int) -> builtins.list[Note]:
        """An alert's history, oldest first."""
        rows = await self._read(schema.NOTES_OF, alert_id)
        return [schema.note_of(row) for row in rows]

    async def list(
        self,
        state: str | None = None,
        assignee: str | None = None,
        limit: int = 50,
        offset: int = 0,
        *,
        rule: str | None = None,
        overdue: bool = False,
    ) -> builtins.list[Alert]:
        """A page of alerts: those whose STR clock runs out first, then newest first.

        ``state``: one state, or ``"live"`` for every state still waiting for compliance;
        ``overdue``: only live alerts whose STR is past due now.
        """
        if not 1 <= limit <= page_max or offset < 0:
            raise Invalid(f"limit: 1 to {page_max}; offset: 0 or more")
        if state is not None and state not in (*STATES, "live"):
            raise Invalid(f"state: one of {', '.join(STATES)} or live")
        states = LIVE if state == "live" else (state,) if state else ()
        overdue_at = self._clock() if overdue else None
        sql, params = schema.listing_sql(states, assignee, rule, overdue_at)
        rows = await self._read(sql, *params, limit, offset)
        return [schema.alert_of(row) for row in rows]

    # -- working ----------------------------------------------------------------------

    async def assign(self, alert_id: int, staff: str, to: str) -> Alert:
        """Give the alert to ``to`` (a staff username): an open alert becomes assigned."""
        _check_staff("to", to)

        def change(alert: Alert, now: int) -> Alert:
            if alert.assignee == to:
                raise Refused(f"Alert {alert.id} is with {to} already.")
            state = ESCALATED if alert.state == ESCALATED else ASSIGNED
            return alert._replace(state=state, assignee=to)

        return await self._act(alert_id, staff, "assign", f"to {to}", change)

    async def note(self, alert_id: int, staff: str, text: str) -> Alert:
        """Add a note; the alert's state does not change."""
        _check_text("text", text, note_chars_max, required=True)
        return await self._act(alert_id, staff, "note", text, lambda alert, now: alert)

    async def dismiss(self, alert_id: int, staff: str, reason: str) -> Alert:
        """Close it as not suspicious, saying why."""
        _check_text("reason", reason, note_chars_max, required=True)
        return await self._act(
            alert_id, staff, "dismiss", reason, lambda alert, now: alert._replace(state=DISMISSED)
        )

    async def escalate(self, alert_id: int, staff: str, reason: str) -> Alert:
        """Raise it to the reporting officer, saying why; a suspicion starts the STR clock."""
        _check_text("reason", reason, note_chars_max, required=True)

        def change(alert: Alert, now: int) -> Alert:
            due = alert.str_due or now + STR_DUE_NS
            return alert._replace(state=ESCALATED, str_due=due)

        return await self._act(alert_id, staff, "escalate", reason, change)

    async def report(self, alert_id: int, staff: str, text: str = "") -> Alert:
        """The STR was filed (``text``: its reference, say): the alert is closed as reported."""
        _check_text("text", text, note_chars_max, required=False)
        return await self._act(
            alert_id, staff, "report", text, lambda alert, now: alert._replace(state=REPORTED)
        )

    async def reopen(self, alert_id: int, staff: str, reason: str) -> Alert:
        """Open a dismissed alert again, saying why; nobody holds it."""
        _check_text("reason", reason, note_chars_max, required=True)
        return await self._act(
            alert_id, staff, "reopen", reason, lambda a, now: a._replace(state=OPEN, assignee="")
        )

    async def _act(
        self,
        alert_id: int,
        staff: str,
        action: str,
        text: str,
        change: Callable[[Alert, int], Alert],
    ) -> Alert:
        """Check the action against the alert's state, then write the change and its note."""
        assert action in schema.ACTIONS, action
        _check_staff("staff", staff)
        async with self._lock:
            alert = await self.get(alert_id)
            if alert is None:
                raise NoSuchAlert(f"There is no alert {alert_id}.")
            _allowed(alert, action)
            now = self._clock()
            changed = change(alert, now)._replace(updated=now)
            assert changed.id == alert.id and changed.state in STATES
            (seq,) = (await self._read(schema.NEXT_SEQ, alert_id))[0]
            note = Note(alert_id, int(seq), now, staff, action, text)
            await self._tables.submit([schema.changed_row(changed), schema.note_row(note)])
        return changed

    async def _read(self, sql: str, *params: object) -> builtins.list[tuple[Any, ...]]:
        return await asyncio.to_thread(self._tables.query, sql, params)


# What each state allows; the refusal for the rest.
_ALLOWED = {
    OPEN: frozenset({"assign", "note", "dismiss", "escalate", "report"}),
    ASSIGNED: frozenset({"assign", "note", "dismiss", "escalate", "report"}),
    ESCALATED: frozenset({"assign", "note", "dismiss", "report"}),
    DISMISSED: frozenset({"reopen"}),
    REPORTED: frozenset(),
}


def _allowed(alert: Alert, action: str) -> None:
    if action in _ALLOWED[alert.state]:
        return
    if alert.state == DISMISSED:
        raise Refused(f"Alert {alert.id} is dismissed: reopen it first.")
    if alert.state == REPORTED:
        raise Refused(f"Alert {alert.id} was reported (its STR is filed): it is closed.")
    if action == "reopen":
        raise Refused(f"Alert {alert.id} is {alert.state}: only a dismissed alert reopens.")
    raise Refused(f"Alert {alert.id} is {alert.state} already.")


def _check_raise(rule: str, party_id: int, msisdn: str, severity: str, summary: str) -> None:
    if not _RULE.match(rule):
        raise Invalid("rule: 1 to 32 letters, digits, . - _ (e.g. R3)")
    if isinstance(party_id, bool) or not isinstance(party_id, int) or party_id < 0:
        raise Invalid("party_id: a party's id (0: none)")
    _check_text("msisdn", msisdn, msisdn_chars_max, required=False)
    if severity not in SEVERITIES:
        raise Invalid(f"severity: one of {', '.join(SEVERITIES)}")
    _check_text("summary", summary, summary_chars_max, required=True)


def _check_text(field: str, value: str, chars_max: int, *, required: bool) -> None:
    if not isinstance(value, str):
        raise Invalid(f"{field}: text")
    if required and not value.strip():
        raise Invalid(f"{field}: say it (it is required)")
    if len(value) > chars_max:
        raise Invalid(f"{field}: at most {chars_max} characters")
    problem = text_problem(value)
    if problem is not None:
        raise Invalid(f"{field} {problem}")


def _check_staff(field: str, username: str) -> None:
    if not isinstance(username, str) or not _STAFF.match(username):
        raise Invalid(f"{field}: a staff username (letters, digits, . - _ @)")


def _details(details: dict[str, Any]) -> str:
    """The details as stored; ``Invalid`` unless a small JSON object of storable text,
    whole numbers (money is minor units: never a float), booleans, lists and objects."""
    if not isinstance(details, dict):
        raise Invalid("details: an object")
    _check_value(details, 0)
    stored = schema.canonical(details)
    if len(stored) > details_chars_max:
        raise Invalid(f"details: at most {details_chars_max} characters as JSON")
    return stored


def _check_value(value: object, depth: int) -> None:
    if depth > 8:
        raise Invalid("details: nested too deep")
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        raise Invalid("details: amounts are whole minor units, never fractions")
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise Invalid(f"details: a value {problem}")
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_value(item, depth + 1)
        return
    if isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str) or text_problem(name) is not None:
                raise Invalid("details: names are storable text")
            _check_value(item, depth + 1)
        return
    raise Invalid(f"details: {type(value).__name__} is not JSON")


def _default_key(rule: str, party_id: int, stored_details: str) -> str:
    digest = hashlib.sha256(stored_details.encode("utf-8")).hexdigest()[:32]
    return f"{rule}:{party_id}:{digest}"
