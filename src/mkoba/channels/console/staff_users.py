"""Staff accounts as staff commands: made by one system administrator, checked by another.

The policy's ``staff_users`` action. Its commands go through the same desk as every
other staff write (make, a checker's fresh TOTP, approve or reject, cancel, audit),
but TranProc has no part in them: their effect is on the console's own staff tables,
so the desk applies it (``EFFECTS``) in the same commit that marks the command done.

- ``create_staff``: a new account with no credentials; on approval an enrolment
  token is issued and shown once, to the checker, who hands it to the new member.
  The member chooses a password and enrols a TOTP on the enrolment page: nobody
  else ever sees either.
- ``set_staff_role``, ``suspend_staff``, ``reactivate_staff``: the account changes
  and the member's sessions end at once (a suspended member cannot sign in).
- ``reset_staff_credentials``: the password and TOTP end with the sessions, and a
  new enrolment token is issued as for a new account.

Nobody may start or approve a command on their own account (no one changes their own
role, suspends or resets themselves), and the last active system administrator is
neither suspended nor moved to another role: the check runs when the command is made
and again when it is applied.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, NamedTuple

from mkoba.channels.console.actions import Preview, Previewer, Reads, Unfit
from mkoba.channels.console.auth import Refusal
from mkoba.codes import Code
from mkoba.commands import Command, Msisdn, Text
from mkoba.ledger import Write
from mkoba.parties import local_msisdn
from mkoba.staff import accounts, enrolment
from mkoba.staff.accounts import Reader, StaffAccount
from mkoba.staff.commands import Line, StaffCommand
from mkoba.staff.policy import SYSADMIN, Policy

if TYPE_CHECKING:
    from mkoba.parties import SecretKey

ACTION = "staff_users"


@dataclass(frozen=True, slots=True)
class NewStaff(Command):
    """A new member of staff: what they sign in as, their name, role and own phone."""

    products: ClassVar[tuple[str, ...]] = ("create_staff",)
    username: Text
    name: Text
    role: Text
    phone: Msisdn = ""


@dataclass(frozen=True, slots=True)
class StaffRole(Command):
    """A member of staff moved to another role."""

    products: ClassVar[tuple[str, ...]] = ("set_staff_role",)
    username: Text
    role: Text


@dataclass(frozen=True, slots=True)
class StaffMember(Command):
    """A member of staff suspended, reactivated or sent to enrol again, and why."""

    products: ClassVar[tuple[str, ...]] = (
        "suspend_staff",
        "reactivate_staff",
        "reset_staff_credentials",
    )
    username: Text
    reason: Text = ""


# The command each staff-account product takes.
COMMANDS: Mapping[str, type[Command]] = {
    product: command
    for command in (NewStaff, StaffRole, StaffMember)
    for product in command.products
}


class Effect(NamedTuple):
    """What applying a staff-account command does: its answer, its rows, and after."""

    code: Code
    message: str
    writes: tuple[Write, ...] = ()
    # Shown once to whoever approved it, never stored: the enrolment token.
    token: str = ""
    # The member whose sessions end once the rows are committed (0: nobody's).
    end_sessions_of: int = 0


def _member(reads: Reads, username: str) -> accounts.Member:
    found = accounts.member(reads.tables, username)
    if found is None:
        raise Unfit(f"There is no member of staff {username.strip().lower()!r}.")
    return found


def _state(found: accounts.Member) -> str:
    if not found.enabled:
        return "suspended"
    return "active" if found.enrolled else "waiting to enrol"


async def _preview(product: str, command: Command, reads: Reads) -> Preview:
    return await asyncio.to_thread(_previewed, product, command, reads)


def check(policy: Policy, command: Command, account: StaffAccount) -> None:
    """``Refusal`` for a command ``account`` may not make or approve, or with a bad field.

    Nobody acts on their own staff account; roles are the policy's; a username and a
    name are of the forms ``mkoba staff create`` takes.
    """
    if not isinstance(command, NewStaff | StaffRole | StaffMember):
        return
    if _username(command.username) == account.username:
        raise Refusal(403, "Nobody makes or approves a change to their own staff account.")
    role = command.role if isinstance(command, NewStaff | StaffRole) else SYSADMIN
    name = command.name if isinstance(command, NewStaff) else "-"
    try:
        accounts.checked(policy, command.username, name, role)
    except accounts.StaffError as problem:
        raise Refusal(422, str(problem)) from None


def _username(username: str) -> str:
    return username.strip().lower()


def _previewed(product: str, command: Command, reads: Reads) -> Preview:
    if isinstance(command, NewStaff):
        username, name = _username(command.username), " ".join(command.name.split())
        if accounts.member(reads.tables, username) is not None:
            raise Unfit(f"{username} already has an account.")
        phone = local_msisdn(command.phone) if command.phone else "none"
        summary = f"Make a staff account for {name} ({username}) as {command.role}"
        view: tuple[Line, ...] = (
            Line("Username", "", username),
            Line("Name", "", name),
            Line("Role", "", command.role),
            Line("Own wallet (never acted on)", "", phone),
            Line("Sign-in", "", "after enrolling: a link shown once to the checker"),
        )
        return Preview(f"staff:{username}", 0, summary, view)
    assert isinstance(command, StaffRole | StaffMember)
    found = _member(reads, command.username)
    entity = f"staff:{found.username}"
    head = f"{found.name} ({found.username}, {found.role})"
    if isinstance(command, StaffRole):
        if command.role == found.role:
            raise Unfit(f"{found.username} is {found.role} already.")
        _keeps_a_sysadmin(reads.tables, found)
        summary = f"Move {head} to {command.role}"
        view = (
            Line("Role", found.role, command.role),
            Line("Sessions", "open", "ended: they sign in again"),
        )
        return Preview(entity, 0, summary, view)
    reason = f": {command.reason}" if command.reason else ""
    state = _state(found)
    if product == "suspend_staff":
        if not found.enabled:
            raise Unfit(f"{found.username} is suspended already.")
        _keeps_a_sysadmin(reads.tables, found)
        summary = f"Suspend {head}{reason}"
        view = (Line("Account", state, "suspended"), Line("Sessions", "open", "ended now"))
    elif product == "reactivate_staff":
        if found.enabled:
            raise Unfit(f"{found.username} is not suspended.")
        summary = f"Reactivate {head}{reason}"
        after = "active" if found.enrolled else "waiting to enrol"
        view = (Line("Account", state, after),)
    else:
        summary = f"Reset the password and authenticator of {head}{reason}"
        view = (
            Line("Password and authenticator", "set" if found.enrolled else "none", "ended"),
            Line("Sessions", "open", "ended now"),
            Line("Sign-in", state, "after enrolling again: a link shown once to the checker"),
        )
    return Preview(entity, 0, summary, view)


def _keeps_a_sysadmin(store: Reader, found: accounts.Member) -> None:
    if found.role == SYSADMIN and found.enabled and accounts.active_with_role(store, SYSADMIN) <= 1:
        raise Unfit("That is the last active system administrator: there must remain one.")


def apply(
    store: Reader,
    key: SecretKey,
    policy: Policy,
    command: StaffCommand,
    typed: Command,
    now: int,
) -> Effect:
    """What the approved command does to the staff tables now (checked again as they stand)."""
    if isinstance(typed, NewStaff):
        if accounts.member(store, typed.username) is not None:
            return Effect(Code.NOT_ALLOWED, f"{typed.username} already has an account.")
        staff_id = accounts.next_id(store)
        try:
            made, row = accounts.prepare_unenrolled(
                policy, staff_id, typed.username, typed.name, typed.role, now, typed.phone
            )
        except accounts.StaffError as problem:
            return Effect(Code.INVALID_INPUT, str(problem))
        token, ticket = enrolment.issue(key, enrolment.next_id(store), staff_id, now)
        message = f"{made.username} may enrol with the link shown once to the checker."
        return Effect(Code.OK, message, (row, ticket), token)
    assert isinstance(typed, StaffRole | StaffMember)
    found = accounts.member(store, typed.username)
    if found is None:
        return Effect(Code.NOT_ALLOWED, f"There is no member of staff {typed.username!r}.")
    try:
        if isinstance(typed, StaffRole):
            if typed.role not in policy.roles:
                return Effect(Code.INVALID_INPUT, f"role: one of {', '.join(policy.roles)}")
            _keeps_a_sysadmin(store, found)
            row = accounts.role_write(found.id, typed.role, now)
            message = f"{found.username} is {typed.role} now."
            return Effect(Code.OK, message, (row,), end_sessions_of=found.id)
        if command.product == "suspend_staff":
            _keeps_a_sysadmin(store, found)
            row = accounts.enabled_write(found.id, False, now)
            return Effect(
                Code.OK, f"{found.username} is suspended.", (row,), end_sessions_of=found.id
            )
    except Unfit as unfit:
        return Effect(Code.NOT_ALLOWED, str(unfit))
    if command.product == "reactivate_staff":
        row = accounts.enabled_write(found.id, True, now)
        return Effect(Code.OK, f"{found.username} is active again.", (row,))
    token, ticket = enrolment.issue(key, enrolment.next_id(store), found.id, now)
    rows = (accounts.cleared_write(found.id, now), ticket)
    message = f"{found.username} enrols again with the link shown once to the checker."
    return Effect(Code.OK, message, rows, token, end_sessions_of=found.id)


# product -> (its policy action, its preview), as ``actions.ACTIONS``.
ACTIONS: Mapping[str, tuple[str, Previewer]] = dict.fromkeys(COMMANDS, (ACTION, _preview))
