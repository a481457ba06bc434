"""Who is calling the staff API: the session cookie, the account behind it, the CSRF token.

Every staff route but sign-in resolves its caller here. A session that ended, an
account disabled since, or (on a route that changes anything) a missing or wrong
anti-forgery token is refused before the route does anything.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, NamedTuple

from fastapi import Request, Response

from mkoba.staff import accounts
from mkoba.staff.credentials import burn
from mkoba.staff.sessions import Session, absolute_s, csrf_matches
from mkoba.staff.signin import Outcome, sign_in

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

# Sign-ins waiting for a password check past which one is told to try again.
checks_waiting_max = 32
WRONG = "Wrong username, password or code."
COOKIE = "mkoba_staff"
CSRF_HEADER = "X-CSRF-Token"
# Session ids are 43 characters (32 random bytes): anything much longer is not one.
session_id_chars_max = 128


class Refusal(Exception):
    """A staff request refused: the status and the message its body carries."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Caller(NamedTuple):
    """The signed-in member of staff making a request."""

    session_id: str
    session: Session
    account: accounts.StaffAccount


async def caller(console: ConsoleChannel, http: Request, *, writes: bool = False) -> Caller:
    """The signed-in caller of ``http``; ``Refusal`` (401, or 403 without the CSRF token)."""
    session_id = http.cookies.get(COOKIE)
    if not session_id or len(session_id) > session_id_chars_max:
        raise Refusal(401, "Sign in first.")
    session = console.sessions.find(session_id, console.now())
    if session is None:
        raise Refusal(401, "Sign in first.")
    if writes and not csrf_matches(session, http.headers.get(CSRF_HEADER)):
        raise Refusal(403, f"Send the session's {CSRF_HEADER}.")
    found = await asyncio.to_thread(accounts.by_id, console.tables, console.key, session.staff_id)
    if found is None or not found.state.enabled or found.role != session.role:
        console.sessions.close(session_id)
        raise Refusal(401, "Sign in first.")
    return Caller(session_id, session, found)


async def enter(
    console: ConsoleChannel, username: str, password: str, code: str, where: str
) -> tuple[accounts.StaffAccount, str, Session]:
    """Sign in with both factors: the account and a new session; ``Refusal`` otherwise.

    Every refusal but a lock reads the same whichever factor was wrong, and an unknown
    username costs the same argon2 work as a known one. The attempt's state is durable,
    and audited, before the answer.
    """
    if console.waiting >= checks_waiting_max:
        raise Refusal(503, "Too many sign-ins at once: try again in a moment.")
    console.waiting += 1
    try:
        async with console.checks:
            found = await asyncio.to_thread(
                accounts.by_username, console.tables, console.key, username
            )
            now = console.now()
            if found is None:
                await asyncio.to_thread(burn, password)
                await console.trail.append(
                    time.time_ns(), "sign_in", "unknown_user", actor=username, origin=where
                )
                raise Refusal(401, WRONG)
            outcome, state = await asyncio.to_thread(sign_in, found.state, password, code, now)
    finally:
        console.waiting -= 1
    if state != found.state:
        await console.tables.submit([accounts.state_write(found.id, state, time.time_ns())])
    await console.trail.append(
        time.time_ns(),
        "sign_in",
        outcome.value,
        actor_id=found.id,
        actor=found.username,
        role=found.role,
        origin=where,
        detail={"failures": state.failures} if outcome is Outcome.WRONG else None,
    )
    if outcome is Outcome.LOCKED:
        raise Refusal(423, "Too many failed sign-ins: this account is locked for a while.")
    if outcome is not Outcome.SIGNED_IN:
        raise Refusal(401, WRONG)
    session_id, session = console.sessions.open(found.id, found.role, now)
    return found, session_id, session


def set_session_cookie(response: Response, session_id: str, http: Request) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, the console's paths only."""
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=absolute_s,
        path="/staff",
        httponly=True,
        samesite="strict",
        secure=http.url.scheme == "https",
    )


async def record(
    console: ConsoleChannel,
    who: Caller,
    where: str,
    action: str,
    outcome: str = "ok",
    *,
    entity: str = "",
    detail: dict[str, object] | None = None,
) -> None:
    """An audit entry for what ``who`` did, or looked at, from ``where``."""
    if action == "customer.view" and entity.startswith("party:") and outcome == "ok":
        ticket = await console.watch_view(who.account.username, who.account.id, int(entity[6:]))
        if ticket is not None:  # what R12's counts are rebuilt from at start
            detail = {**(detail or {}), "open_ticket": ticket}
    await console.trail.append(
        time.time_ns(),
        action,
        outcome,
        actor_id=who.account.id,
        actor=who.account.username,
        role=who.account.role,
        origin=where,
        entity=entity,
        detail=detail,
    )


async def leave(console: ConsoleChannel, who: Caller, where: str) -> None:
    """Sign ``who`` out: the session ends, and the trail says so."""
    console.sessions.close(who.session_id)
    await record(console, who, where, "sign_out")


def origin(http: Request) -> str:
    """Where a request came from, as the audit trail records it."""
    return http.client.host if http.client is not None else ""
