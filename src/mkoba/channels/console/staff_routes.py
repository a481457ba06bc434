"""``/staff/v1/staff`` and ``/staff/v1/enrol``: staff accounts over the staff API.

The roster and one account are for the roles with a part in ``staff_users`` (the
system administrator, the auditor), and each read is audited. Every change is a
staff command on the desk (``staff_users.py``): these routes are its shorthand, and
``POST /staff/v1/commands`` with the same products works the same. Approving a new
account or a credentials reset answers, once, with the enrolment link for the member.

``/staff/v1/enrol/{token}`` needs no session, only a token that still works: it
shows the TOTP seed to enrol, and ``POST /staff/v1/enrol`` completes the enrolment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mkoba.channels.console import enrol
from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.channels.console.command_routes import CommandOut, command_out
from mkoba.channels.console.staff_users import ACTION
from mkoba.staff import accounts, enrolment
from mkoba.staff import commands as book
from mkoba.staff.credentials import password_chars_max
from mkoba.text import text_problem

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

USERNAME = r"^[A-Za-z0-9._@-]{1,64}$"


def _storable(value: str, name: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(f"{name} {problem}")
    return value


class NewMember(BaseModel):
    """A new member of staff (they choose their own password and TOTP by enrolling)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME, examples=["achieng.o"])
    name: str = Field(min_length=1, max_length=accounts.name_chars_max)
    role: str = Field(pattern=r"^[a-z_0-9]{1,40}$", examples=["care_l1"])
    phone: str = Field("", max_length=20, description="their own wallet's number, if any")
    note: str = Field("", max_length=book.note_chars_max)

    @field_validator("name", "note")
    @classmethod
    def _text(cls, value: str) -> str:
        return _storable(value, "text")


class NewRole(BaseModel):
    """Another role for a member of staff."""

    model_config = ConfigDict(extra="forbid")

    role: str = Field(pattern=r"^[a-z_0-9]{1,40}$")
    note: str = Field("", max_length=book.note_chars_max)

    @field_validator("note")
    @classmethod
    def _text(cls, value: str) -> str:
        return _storable(value, "note")


class Why(BaseModel):
    """Why a member of staff is suspended, reactivated or reset."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=200)
    note: str = Field("", max_length=book.note_chars_max)

    @field_validator("reason", "note")
    @classmethod
    def _text(cls, value: str) -> str:
        return _storable(value, "text")


class MemberOut(BaseModel):
    """A member of staff as the roster shows them (no secret of theirs)."""

    id: int
    username: str
    name: str
    role: str
    phone: str
    state: str
    command: int | None


class Enrolling(BaseModel):
    """What the enrolment shows its token's holder: the account and the seed to enrol."""

    username: str
    name: str
    role: str
    totp_seed: str
    totp_uri: str
    expires: int


class Enrol(BaseModel):
    """The enrolment: the token, the chosen password, the authenticator's first code."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=enrolment.token_chars_max)
    password: str = Field(min_length=1, max_length=password_chars_max)
    code: str = Field(pattern=r"^[0-9]{6}$")

    @field_validator("password")
    @classmethod
    def _text(cls, value: str) -> str:
        return _storable(value, "password")


class Enrolled(BaseModel):
    """Enrolled: sign in as this username."""

    username: str


def member_state(found: accounts.Member, now_s: float) -> str:
    """An account's state as staff read it."""
    if not found.enabled:
        return "suspended"
    if not found.enrolled:
        return "waiting to enrol"
    return "locked" if found.locked_until > now_s else "active"


def may_see_staff(console: ConsoleChannel, who: Caller) -> None:
    """``Refusal`` 403 unless the caller's role has a part in staff accounts."""
    if not console.policy.sees(who.account.role, ACTION):
        raise Refusal(403, "Your role has no part in staff accounts.")


async def member_out(console: ConsoleChannel, found: accounts.Member) -> MemberOut:
    """One roster line, with the command open on it."""
    command = await console.read(book.open_on, f"staff:{found.username}")
    return MemberOut(
        id=found.id,
        username=found.username,
        name=found.name,
        role=found.role,
        phone=found.phone,
        state=member_state(found, console.now()),
        command=command.id if command is not None else None,
    )


async def roster(console: ConsoleChannel) -> list[MemberOut]:
    """Every member of staff."""
    return [await member_out(console, found) for found in await console.read(accounts.roster)]


def router(console: ConsoleChannel) -> APIRouter:
    """The staff-account routes over ``console``."""
    api = APIRouter(prefix="/staff/v1", tags=["staff accounts"])
    desk = console.desk

    @api.get("/staff", response_model=list[MemberOut])
    async def listing(http: Request) -> list[MemberOut]:
        """Every member of staff, their role and state."""
        who = await caller(console, http)
        may_see_staff(console, who)
        out = await roster(console)
        await record(console, who, origin(http), "staff.list", detail={"rows": len(out)})
        return out

    @api.get("/staff/{username}", response_model=MemberOut, responses={404: {}})
    async def one(username: str, http: Request) -> MemberOut:
        """One member of staff."""
        who = await caller(console, http)
        may_see_staff(console, who)
        found = await console.read(accounts.member, username[:64])
        if found is None:
            raise Refusal(404, "There is no such member of staff.")
        entity = f"staff:{found.username}"
        await record(console, who, origin(http), "staff.view", entity=entity)
        return await member_out(console, found)

    @api.post("/staff", response_model=CommandOut, status_code=201)
    async def create(body: NewMember, http: Request) -> CommandOut:
        """Start making an account: another system administrator approves it."""
        who = await caller(console, http, writes=True)
        fields = {"username": body.username, "name": body.name, "role": body.role}
        if body.phone:
            fields["phone"] = body.phone
        made = await desk.make(who, "create_staff", fields, body.note, origin(http))
        return command_out(console, who, made)

    @api.post("/staff/{username}/role", response_model=CommandOut, status_code=201)
    async def role(username: str, body: NewRole, http: Request) -> CommandOut:
        """Start moving a member of staff to another role."""
        who = await caller(console, http, writes=True)
        fields = {"username": username[:64], "role": body.role}
        made = await desk.make(who, "set_staff_role", fields, body.note, origin(http))
        return command_out(console, who, made)

    async def change(product: str, username: str, body: Why, http: Request) -> CommandOut:
        who = await caller(console, http, writes=True)
        fields = {"username": username[:64]}
        if body.reason:
            fields["reason"] = body.reason
        made = await desk.make(who, product, fields, body.note, origin(http))
        return command_out(console, who, made)

    @api.post("/staff/{username}/suspend", response_model=CommandOut, status_code=201)
    async def suspend(username: str, body: Why, http: Request) -> CommandOut:
        """Start suspending a member of staff (their sessions end when it is approved)."""
        return await change("suspend_staff", username, body, http)

    @api.post("/staff/{username}/reactivate", response_model=CommandOut, status_code=201)
    async def reactivate(username: str, body: Why, http: Request) -> CommandOut:
        """Start reactivating a suspended member of staff."""
        return await change("reactivate_staff", username, body, http)

    @api.post("/staff/{username}/reset", response_model=CommandOut, status_code=201)
    async def reset(username: str, body: Why, http: Request) -> CommandOut:
        """Start a credentials reset: their password and TOTP end, and they enrol again."""
        return await change("reset_staff_credentials", username, body, http)

    @api.get("/enrol/{token}", response_model=Enrolling, responses={404: {}})
    async def enrolling(token: str, http: Request, response: Response) -> Enrolling:
        """What a working enrolment token enrols (no session needed): the seed to add."""
        found = await enrol.opened(console, token, origin(http))
        response.headers["Cache-Control"] = "no-store"
        return Enrolling(
            username=found.username,
            name=found.name,
            role=found.role,
            totp_seed=found.seed,
            totp_uri=found.uri,
            expires=found.expires,
        )

    @api.post("/enrol", response_model=Enrolled, responses={404: {}, 422: {}})
    async def enrolled(body: Enrol, http: Request) -> Enrolled:
        """Complete an enrolment: the chosen password and the authenticator's first code."""
        account = await enrol.complete(console, body.token, body.password, body.code, origin(http))
        return Enrolled(username=account.username)

    return api
