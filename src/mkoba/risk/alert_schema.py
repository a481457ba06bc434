"""The compliance alerts' tables, their rows and their SQL (``risk_`` tables, this package's).

``risk_alerts`` holds one row per alert a rule raised: which rule, about whom, how
bad, where it stands in triage, who holds it, a plain-text summary, the details as
JSON (receipts, amounts in minor units, the window; never a secret) and the STR clock
(``str_due``: the moment a suspicious transaction report is due, 0 when none runs).
``key`` is the caller's name for what was hit (the rule and the events): unique, so
the same hit never makes two alerts. ``risk_alert_notes`` is the alert's history, one
row per staff action, numbered per alert (``seq``), never changed once written.

One script for both stores (SQLite and PostgreSQL), run once by name
(``Tables.migrate_script``); rows are written only through ``Tables.submit``.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from mkoba.ledger import Write, WriteMode

MIGRATION = "risk-alerts-0001"
SCHEMA = """
CREATE TABLE IF NOT EXISTS risk_alerts (
    id BIGINT PRIMARY KEY,
    key TEXT NOT NULL,
    rule TEXT NOT NULL,
    party_id BIGINT NOT NULL,
    msisdn TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    assignee TEXT NOT NULL,
    summary TEXT NOT NULL,
    details TEXT NOT NULL,
    str_due BIGINT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS risk_alerts_key ON risk_alerts (key);
CREATE INDEX IF NOT EXISTS risk_alerts_state ON risk_alerts (state, id);
CREATE INDEX IF NOT EXISTS risk_alerts_rule ON risk_alerts (rule, id);
CREATE INDEX IF NOT EXISTS risk_alerts_assignee ON risk_alerts (assignee, id);
CREATE INDEX IF NOT EXISTS risk_alerts_party ON risk_alerts (party_id, id);
CREATE TABLE IF NOT EXISTS risk_alert_notes (
    alert_id BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    at BIGINT NOT NULL,
    staff TEXT NOT NULL,
    action TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (alert_id, seq)
);
"""
ALERTS = "risk_alerts"
NOTES = "risk_alert_notes"
# The tables, for the composition root (none is a front's to write).
OWN_TABLES = (ALERTS, NOTES)

# States. Open ones wait for compliance; dismissed and reported ones are closed.
OPEN = "open"
ASSIGNED = "assigned"
ESCALATED = "escalated"
DISMISSED = "dismissed"
REPORTED = "reported"
STATES = (OPEN, ASSIGNED, ESCALATED, DISMISSED, REPORTED)
LIVE = (OPEN, ASSIGNED, ESCALATED)
SEVERITIES = ("low", "medium", "high")
# What a note row records.
ACTIONS = ("assign", "note", "dismiss", "escalate", "report", "reopen")


class Alert(NamedTuple):
    """One alert and where it stands."""

    id: int
    key: str
    rule: str
    party_id: int
    msisdn: str
    severity: str
    state: str
    assignee: str  # a staff username, or '' (nobody holds it)
    summary: str
    details: dict[str, Any]
    str_due: int  # ns; 0: no STR clock runs
    created: int
    updated: int

    @property
    def live(self) -> bool:
        """Whether it still waits for compliance (not dismissed, not reported)."""
        return self.state in LIVE

    def str_left_ns(self, now: int) -> int | None:
        """Time left on the STR clock (negative: overdue), or None: no clock, or closed."""
        if not self.str_due or not self.live:
            return None
        return self.str_due - now

    def overdue(self, now: int) -> bool:
        """Whether its STR is due and not filed."""
        left = self.str_left_ns(now)
        return left is not None and left < 0


class Note(NamedTuple):
    """One staff action on an alert, as its history keeps it."""

    alert_id: int
    seq: int
    at: int
    staff: str
    action: str
    text: str


_ALERT_COLUMNS = Alert._fields
_NOTE_COLUMNS = Note._fields
_ALERT_SELECT = f"SELECT {', '.join(_ALERT_COLUMNS)} FROM {ALERTS}"
ONE = f"{_ALERT_SELECT} WHERE id = ?"
BY_KEY = f"{_ALERT_SELECT} WHERE key = ?"
NEXT_ID = f"SELECT COALESCE(MAX(id), 0) + 1 FROM {ALERTS}"
NOTES_OF = f"SELECT {', '.join(_NOTE_COLUMNS)} FROM {NOTES} WHERE alert_id = ? ORDER BY seq"
NEXT_SEQ = f"SELECT COALESCE(MAX(seq), 0) + 1 FROM {NOTES} WHERE alert_id = ?"


def listing_sql(
    states: tuple[str, ...], assignee: str | None, rule: str | None, overdue_at: int | None
) -> tuple[str, list[object]]:
    """The query for a page of alerts, and its parameters (limit and offset last, to add).

    Those whose STR clock runs out first come first, then the rest, newest first.
    """
    where: list[str] = []
    params: list[object] = []
    if states:
        where.append(f"state IN ({', '.join('?' * len(states))})")
        params.extend(states)
    if assignee is not None:
        where.append("assignee = ?")
        params.append(assignee)
    if rule is not None:
        where.append("rule = ?")
        params.append(rule)
    if overdue_at is not None:
        where.append(f"str_due > 0 AND str_due < ? AND state IN ({', '.join('?' * len(LIVE))})")
        params.extend((overdue_at, *LIVE))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    order = " ORDER BY CASE WHEN str_due = 0 THEN 1 ELSE 0 END, str_due, id DESC"
    return f"{_ALERT_SELECT}{clause}{order} LIMIT ? OFFSET ?", params


def canonical(details: dict[str, Any]) -> str:
    """The details as stored: canonical JSON (sorted keys, no spaces)."""
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def new_row(alert: Alert) -> Write:
    """A new alert's row (a duplicate key fails its batch: ``Alerts`` checks first)."""
    values = tuple(canonical(v) if name == "details" else v for name, v in alert._asdict().items())
    return Write(ALERTS, _ALERT_COLUMNS, values)


def changed_row(alert: Alert) -> Write:
    """An alert's row after a staff action: its state, holder, STR clock and time."""
    return Write(
        ALERTS,
        ("id", "state", "assignee", "str_due", "updated"),
        (alert.id, alert.state, alert.assignee, alert.str_due, alert.updated),
        ("id",),
        WriteMode.UPDATE,
    )


def note_row(note: Note) -> Write:
    """A note's row (an upsert on its number: a batch sent again writes it again)."""
    return Write(NOTES, _NOTE_COLUMNS, tuple(note), ("alert_id", "seq"), WriteMode.UPSERT)


def alert_of(row: tuple[Any, ...]) -> Alert:
    """An alert read back (drivers differ in the types they return)."""
    values = dict(zip(_ALERT_COLUMNS, row, strict=True))
    alert = Alert(
        id=int(values["id"]),
        key=str(values["key"]),
        rule=str(values["rule"]),
        party_id=int(values["party_id"]),
        msisdn=str(values["msisdn"]),
        severity=str(values["severity"]),
        state=str(values["state"]),
        assignee=str(values["assignee"]),
        summary=str(values["summary"]),
        details=dict(json.loads(values["details"])),
        str_due=int(values["str_due"]),
        created=int(values["created"]),
        updated=int(values["updated"]),
    )
    assert alert.state in STATES, "a stored alert is in one of the states"
    assert alert.severity in SEVERITIES, "a stored alert has one of the severities"
    return alert


def note_of(row: tuple[Any, ...]) -> Note:
    """A note read back."""
    t = list(row)
    note = Note(int(t[0]), int(t[1]), int(t[2]), str(t[3]), str(t[4]), str(t[5]))
    assert note.action in ACTIONS, "a stored note records one of the actions"
    return note
