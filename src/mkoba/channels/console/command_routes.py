"""``/staff/v1/commands`` and ``/staff/v1/reversals``: staff writes under maker-checker.

``POST /commands`` makes a command (done at once where the role may do it, else
pending); a checker reads its before/after view (``GET /commands/{id}``) and
approves it with a fresh authenticator code, or rejects it; its maker may cancel it
while it waits. Every write needs the session's anti-forgery token; every read of
commands or reversals (names, numbers) is in the audit trail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mkoba.channels.console.actions import who
from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.staff import commands as book
from mkoba.staff.commands import StaffCommand
from mkoba.staff.policy import Mode
from mkoba.text import text_problem

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

# A command takes at most this many fields, each at most this long.
fields_max = 12
field_chars_max = 200
list_limit_max = 500


def _storable(value: str, name: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(f"{name} {problem}")
    return value


class Make(BaseModel):
    """A staff command: the product it runs, its fields, and why."""

    model_config = ConfigDict(extra="forbid")

    product: str = Field(pattern=r"^[a-z_]{1,40}$", examples=["issue_emoney"])
    fields: dict[str, str] = Field(
        max_length=fields_max,
        examples=[{"kind": "operator", "amount": "100000", "reference": "FT24112300123"}],
    )
    note: str = Field("", max_length=book.note_chars_max)

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if len(name) > 40 or len(text) > field_chars_max:
                raise ValueError(
                    f"fields: names up to 40 and values up to {field_chars_max} characters"
                )
            _storable(name, "a field name")
            _storable(text, f"fields.{name[:40]}")
        return value

    @field_validator("note")
    @classmethod
    def _note(cls, value: str) -> str:
        return _storable(value, "note")


class Approve(BaseModel):
    """A checker's approval: their authenticator's current code (a fresh second factor)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[0-9]{6}$")


class Reject(BaseModel):
    """A checker's rejection, and why."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=book.note_chars_max)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _storable(value, "reason")


class ViewLine(BaseModel):
    """One line of the before/after view."""

    label: str
    before: str
    after: str


class CommandOut(BaseModel):
    """A staff command, where it stands, and what the caller may do with it."""

    id: int
    action: str
    product: str
    summary: str
    amount: int
    fields: dict[str, str]
    view: list[ViewLine]
    note: str
    maker: str
    state: Literal["pending", "approving", "done", "failed", "rejected", "cancelled"]
    checker: str
    reason: str
    outcome: dict[str, Any]
    created: int
    updated: int
    may: list[Literal["approve", "reject", "cancel"]]


class HeldOut(BaseModel):
    """A reversal request waiting for staff."""

    receipt: str
    amount: int
    payer: str
    recipient: str
    asked: int
    expires: int
    command: int | None


def router(console: ConsoleChannel) -> APIRouter:
    """The maker-checker routes over ``console``."""
    api = APIRouter(prefix="/staff/v1", tags=["commands"])
    desk = console.desk

    @api.post("/commands", response_model=CommandOut, status_code=201)
    async def make(body: Make, http: Request) -> CommandOut:
        """Start a command: done at once where your role may do it, else it waits for a checker."""
        caller_ = await caller(console, http, writes=True)
        made = await desk.make(caller_, body.product, body.fields, body.note, origin(http))
        return command_out(console, caller_, made)

    @api.get("/commands", response_model=list[CommandOut])
    async def listing(
        http: Request,
        state: Literal["pending", "approving", "done", "failed", "rejected", "cancelled"]
        | None = None,
        limit: int = Query(100, ge=1, le=list_limit_max),
    ) -> list[CommandOut]:
        """The newest commands of the actions your role has a part in."""
        caller_ = await caller(console, http)
        role = caller_.account.role
        actions = tuple(a for a in console.policy.actions if console.policy.sees(role, a))
        found = (
            await console.read(book.listing, (state,) if state else (), actions, limit)
            if actions
            else []
        )
        detail: dict[str, object] = {"state": state or "", "rows": len(found)}
        await record(console, caller_, origin(http), "commands.list", detail=detail)
        return [command_out(console, caller_, command) for command in found]

    @api.get("/commands/{command_id}", response_model=CommandOut, responses={404: {}})
    async def one(command_id: int, http: Request) -> CommandOut:
        """One command with its before/after view."""
        caller_ = await caller(console, http)
        found = await console.read(book.get, command_id)
        if found is None or not console.policy.sees(caller_.account.role, found.action):
            raise Refusal(404, f"There is no command {command_id}.")
        await record(
            console, caller_, origin(http), "commands.view", detail={"command": command_id}
        )
        return command_out(console, caller_, found)

    @api.post("/commands/{command_id}/approve", response_model=CommandOut)
    async def approve(command_id: int, body: Approve, http: Request) -> CommandOut:
        """Approve another member of staff's command (with your authenticator's code)."""
        caller_ = await caller(console, http, writes=True)
        done = await desk.approve(caller_, command_id, body.code, origin(http))
        return command_out(console, caller_, done)

    @api.post("/commands/{command_id}/reject", response_model=CommandOut)
    async def reject(command_id: int, body: Reject, http: Request) -> CommandOut:
        """Reject another member of staff's command, saying why."""
        caller_ = await caller(console, http, writes=True)
        closed = await desk.reject(caller_, command_id, body.reason, origin(http))
        return command_out(console, caller_, closed)

    @api.post("/commands/{command_id}/cancel", response_model=CommandOut)
    async def cancel(command_id: int, http: Request) -> CommandOut:
        """Withdraw your own command while it waits."""
        caller_ = await caller(console, http, writes=True)
        closed = await desk.cancel(caller_, command_id, origin(http))
        return command_out(console, caller_, closed)

    @api.get("/reversals", response_model=list[HeldOut])
    async def reversals(
        http: Request, limit: int = Query(100, ge=1, le=list_limit_max)
    ) -> list[HeldOut]:
        """Customers' reversal requests still held, oldest first (M-Pesa's 456 queue)."""
        caller_ = await caller(console, http)
        if not console.policy.sees(caller_.account.role, "reversal"):
            raise Refusal(403, "Your role has no part in reversals.")
        out = await held_reversals(console, limit)
        await record(console, caller_, origin(http), "reversals.list", detail={"rows": len(out)})
        return out

    return api


async def held_reversals(console: ConsoleChannel, limit: int) -> list[HeldOut]:
    """The reversal requests still held, oldest first, with the open command on each."""
    held = await console.reads.reversals.held(limit)
    directory = console.reads.directory
    out = []
    for request in held:
        command = await console.read(book.open_on, f"reversal:{request.receipt}")
        out.append(
            HeldOut(
                receipt=request.receipt,
                amount=request.amount,
                payer=who(directory.get(request.payer_id)),
                recipient=who(directory.get(request.payee_id)),
                asked=request.created,
                expires=request.expires,
                command=command.id if command is not None else None,
            )
        )
    return out


def command_out(console: ConsoleChannel, who_: Caller, command: StaffCommand) -> CommandOut:
    """A command as the caller sees it, with what they may do with it."""
    policy = console.policy
    account = who_.account
    may: list[Literal["approve", "reject", "cancel"]] = []
    if command.state == book.PENDING:
        if account.id != command.maker_id and policy.may(
            account.role, command.action, Mode.CHECK, command.amount
        ):
            may += ["approve", "reject"]
        if account.id == command.maker_id:
            may.append("cancel")
    return CommandOut(
        id=command.id,
        action=command.action,
        product=command.product,
        summary=command.summary,
        amount=command.amount,
        fields=command.fields,
        view=[
            ViewLine(label=line.label, before=line.before, after=line.after)
            for line in command.view
        ],
        note=command.note,
        maker=command.maker,
        state=command.state,  # type: ignore[arg-type]
        checker=command.checker,
        reason=command.reason,
        outcome=command.outcome,
        created=command.created,
        updated=command.updated,
        may=may,
    )
