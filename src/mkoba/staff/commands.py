"""Staff commands: each write a member of staff asks for, and its maker-checker state.

The ``staff_commands`` table is this package's. A command names the TranProc product
it runs, the command's fields, what it acts on (``entity``: one open command per
entity, so two makers cannot race on one wallet, reference or reversal), its
amount (for the checkers' limits) and the before/after view its checker approves.

States: a command the policy lets its maker do at once is ``done`` (or ``failed``)
as soon as TranProc answers. One that needs a checker is ``pending`` until another
member of staff approves it (``approving`` while TranProc decides, then ``done`` or
``failed``), rejects it, or its maker cancels it. The answer TranProc gave is kept
with it.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from mkoba.ledger import Write, WriteMode
from mkoba.staff.accounts import Reader

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_commands (
    id BIGINT PRIMARY KEY,
    action TEXT NOT NULL,
    product TEXT NOT NULL,
    entity TEXT NOT NULL,
    amount BIGINT NOT NULL,
    fields TEXT NOT NULL,
    summary TEXT NOT NULL,
    view TEXT NOT NULL,
    note TEXT NOT NULL,
    maker_id BIGINT NOT NULL,
    maker TEXT NOT NULL,
    state TEXT NOT NULL,
    checker_id BIGINT NOT NULL,
    checker TEXT NOT NULL,
    reason TEXT NOT NULL,
    outcome TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS staff_commands_open ON staff_commands (entity)
    WHERE state IN ('pending', 'approving');
CREATE INDEX IF NOT EXISTS staff_commands_state ON staff_commands (state, id);
CREATE INDEX IF NOT EXISTS staff_commands_entity ON staff_commands (entity, id);
"""
MIGRATION = "staff-commands-0001"

PENDING = "pending"
APPROVING = "approving"
DONE = "done"
FAILED = "failed"
REJECTED = "rejected"
CANCELLED = "cancelled"
OPEN = (PENDING, APPROVING)
STATES = (PENDING, APPROVING, DONE, FAILED, REJECTED, CANCELLED)
# A maker's note and a checker's reason for a rejection are at most this long.
note_chars_max = 500

_COLUMNS = (
    "id",
    "action",
    "product",
    "entity",
    "amount",
    "fields",
    "summary",
    "view",
    "note",
    "maker_id",
    "maker",
    "state",
    "checker_id",
    "checker",
    "reason",
    "outcome",
    "created",
    "updated",
)


class Line(NamedTuple):
    """One line of a before/after view: what, as it stands, and as it will stand."""

    label: str
    before: str
    after: str


class StaffCommand(NamedTuple):
    """One staff command and where it stands."""

    id: int
    action: str
    product: str
    entity: str
    amount: int
    fields: dict[str, str]
    summary: str
    view: tuple[Line, ...]
    note: str
    maker_id: int
    maker: str
    state: str
    checker_id: int
    checker: str
    reason: str
    # TranProc's answer: code, message, receipt (empty until it answered).
    outcome: dict[str, Any]
    created: int
    updated: int

    @property
    def request_id(self) -> str:
        """The id of the request that runs it: one per command, so a retry is a replay."""
        return f"console:{self.id}"

    @property
    def open(self) -> bool:
        """Whether it still waits for a checker (or for TranProc's answer to one)."""
        return self.state in OPEN


def next_id(store: Reader) -> int:
    """The next command's id (the one console process allocates them, under its lock)."""
    found = store.query("SELECT COALESCE(MAX(id), 0) FROM staff_commands")
    return int(found[0][0]) + 1


def get(store: Reader, command_id: int) -> StaffCommand | None:
    """The command with this id, or None."""
    rows = store.query(
        f"SELECT {', '.join(_COLUMNS)} FROM staff_commands WHERE id = ?", (command_id,)
    )
    return _command(rows[0]) if rows else None


def open_on(store: Reader, entity: str) -> StaffCommand | None:
    """The command still open on ``entity``, or None."""
    rows = store.query(
        f"SELECT {', '.join(_COLUMNS)} FROM staff_commands WHERE entity = ?"
        " AND state IN ('pending', 'approving')",
        (entity,),
    )
    return _command(rows[0]) if rows else None


def on_entity(store: Reader, entity: str, limit: int) -> list[StaffCommand]:
    """The newest commands on ``entity``, whatever their state."""
    rows = store.query(
        f"SELECT {', '.join(_COLUMNS)} FROM staff_commands WHERE entity = ?"
        " ORDER BY id DESC LIMIT ?",
        (entity, limit),
    )
    return [_command(row) for row in rows]


def listing(
    store: Reader, states: tuple[str, ...] = (), actions: tuple[str, ...] = (), limit: int = 100
) -> list[StaffCommand]:
    """The newest commands, in ``states`` and of ``actions`` where given."""
    where: list[str] = []
    params: list[object] = []
    if states:
        where.append(f"state IN ({', '.join('?' * len(states))})")
        params.extend(states)
    if actions:
        where.append(f"action IN ({', '.join('?' * len(actions))})")
        params.extend(actions)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = store.query(
        f"SELECT {', '.join(_COLUMNS)} FROM staff_commands{clause} ORDER BY id DESC LIMIT ?",
        (*params, limit),
    )
    return [_command(row) for row in rows]


def new_row(command: StaffCommand) -> Write:
    """A new command's row."""
    return Write("staff_commands", _COLUMNS, _values(command))


def update_row(command: StaffCommand) -> Write:
    """A command's row after a change of state."""
    return Write(
        "staff_commands",
        ("id", "state", "checker_id", "checker", "reason", "outcome", "updated"),
        (
            command.id,
            command.state,
            command.checker_id,
            command.checker,
            command.reason,
            json.dumps(command.outcome, separators=(",", ":")),
            command.updated,
        ),
        ("id",),
        WriteMode.UPDATE,
    )


def _values(command: StaffCommand) -> tuple[object, ...]:
    return (
        command.id,
        command.action,
        command.product,
        command.entity,
        command.amount,
        json.dumps(command.fields, separators=(",", ":"), sort_keys=True),
        command.summary,
        json.dumps([list(line) for line in command.view], separators=(",", ":")),
        command.note,
        command.maker_id,
        command.maker,
        command.state,
        command.checker_id,
        command.checker,
        command.reason,
        json.dumps(command.outcome, separators=(",", ":")),
        command.created,
        command.updated,
    )


def _command(row: tuple[Any, ...]) -> StaffCommand:
    values = dict(zip(_COLUMNS, row, strict=True))
    return StaffCommand(
        id=int(values["id"]),
        action=str(values["action"]),
        product=str(values["product"]),
        entity=str(values["entity"]),
        amount=int(values["amount"]),
        fields={str(k): str(v) for k, v in json.loads(values["fields"]).items()},
        summary=str(values["summary"]),
        view=tuple(Line(*(str(part) for part in line)) for line in json.loads(values["view"])),
        note=str(values["note"]),
        maker_id=int(values["maker_id"]),
        maker=str(values["maker"]),
        state=str(values["state"]),
        checker_id=int(values["checker_id"]),
        checker=str(values["checker"]),
        reason=str(values["reason"]),
        outcome=dict(json.loads(values["outcome"])),
        created=int(values["created"]),
        updated=int(values["updated"]),
    )
