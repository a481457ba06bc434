"""``/staff/v1``: sign in, sign out, and who am I.

Every refusal of a sign-in reads the same whichever factor was wrong, and an unknown
username costs the same argon2 work as a known one. A locked account is told so
(for up to 30 minutes). The session cookie is ``HttpOnly`` and ``SameSite=Strict``
(``Secure`` on HTTPS); signing out needs the session's anti-forgery token.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Cookie, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mkoba.staff import accounts
from mkoba.staff.credentials import burn
from mkoba.staff.policy import Mode
from mkoba.staff.sessions import Session, absolute_s, csrf_matches
from mkoba.staff.signin import Outcome, sign_in
from mkoba.text import text_problem

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

# Sign-ins waiting for a password check past which one is told to try again.
checks_waiting_max = 32

COOKIE = "mkoba_staff"
CSRF_HEADER = "X-CSRF-Token"
_WRONG = "Wrong username, password or code."


class SignIn(BaseModel):
    """Both factors."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(
        min_length=1, max_length=accounts.username_chars_max, pattern=r"^[A-Za-z0-9._@-]+$"
    )
    password: str = Field(min_length=1, max_length=256)
    code: str = Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")

    @field_validator("password")
    @classmethod
    def _storable(cls, value: str) -> str:
        problem = text_problem(value)
        if problem is not None:
            raise ValueError(f"password {problem}")
        return value


class Me(BaseModel):
    """The signed-in member of staff and what their role may do."""

    username: str
    name: str
    role: str
    permissions: dict[str, list[str]]


class SignedIn(Me):
    """A new session: the anti-forgery token its state-changing requests send back."""

    csrf: str


def router(console: ConsoleChannel) -> APIRouter:
    """The staff API's routes over ``console``."""
    api = APIRouter(prefix="/staff/v1", tags=["staff"])

    @api.post(
        "/sign-in",
        response_model=SignedIn,
        responses={401: {"description": _WRONG}, 423: {"description": "Locked for a while"}},
    )
    async def sign_in_route(body: SignIn, http: Request) -> Response:
        """Sign in with the password and the authenticator's current code."""
        if console.waiting >= checks_waiting_max:
            return _refused(503, "Too many sign-ins at once: try again in a moment.")
        console.waiting += 1
        try:
            async with console.checks:
                found = await asyncio.to_thread(
                    accounts.by_username, console.tables, console.key, body.username
                )
                now = console.now()
                if found is None:
                    await asyncio.to_thread(burn, body.password)
                    await console.trail.append(
                        time.time_ns(),
                        "sign_in",
                        "unknown_user",
                        actor=body.username,
                        origin=_origin(http),
                    )
                    return _refused(401, _WRONG)
                outcome, state = await asyncio.to_thread(
                    sign_in, found.state, body.password, body.code, now
                )
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
            origin=_origin(http),
            detail={"failures": state.failures} if outcome is Outcome.WRONG else None,
        )
        if outcome is Outcome.LOCKED:
            return _refused(423, "Too many failed sign-ins: this account is locked for a while.")
        if outcome is not Outcome.SIGNED_IN:
            return _refused(401, _WRONG)
        session_id, session = console.sessions.open(found.id, found.role, now)
        me = _me(console, found)
        response = JSONResponse(SignedIn(**me.model_dump(), csrf=session.csrf).model_dump())
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=absolute_s,
            path="/staff",
            httponly=True,
            samesite="strict",
            secure=http.url.scheme == "https",
        )
        return response

    @api.post("/sign-out", status_code=204, responses={401: {}, 403: {}})
    async def sign_out(
        http: Request,
        mkoba_staff: Annotated[str | None, Cookie()] = None,
        x_csrf_token: Annotated[str | None, Header()] = None,
    ) -> Response:
        """End the session (it needs the session's anti-forgery token)."""
        session = _session(console, mkoba_staff)
        if session is None:
            return _refused(401, "Sign in first.")
        if not csrf_matches(session, x_csrf_token):
            return _refused(403, f"Send the session's {CSRF_HEADER}.")
        assert mkoba_staff is not None
        console.sessions.close(mkoba_staff)
        await console.trail.append(
            time.time_ns(),
            "sign_out",
            "ok",
            actor_id=session.staff_id,
            role=session.role,
            origin=_origin(http),
        )
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/staff")
        return response

    @api.get("/me", response_model=Me, responses={401: {}})
    async def me(mkoba_staff: Annotated[str | None, Cookie()] = None) -> Response:
        """Who is signed in, and what their role may do."""
        session = _session(console, mkoba_staff)
        if session is None:
            return _refused(401, "Sign in first.")
        found = await asyncio.to_thread(_account, console, session.staff_id)
        if found is None or not found.state.enabled:
            assert mkoba_staff is not None
            console.sessions.close(mkoba_staff)
            return _refused(401, "Sign in first.")
        return JSONResponse(_me(console, found).model_dump())

    return api


def _origin(http: Request) -> str:
    """Where a request came from, as the audit trail records it."""
    return http.client.host if http.client is not None else ""


def _session(console: ConsoleChannel, session_id: str | None) -> Session | None:
    if not session_id or len(session_id) > 128:
        return None
    return console.sessions.find(session_id, console.now())


def _account(console: ConsoleChannel, staff_id: int) -> accounts.StaffAccount | None:
    return accounts.by_id(console.tables, console.key, staff_id)


def _me(console: ConsoleChannel, account: accounts.StaffAccount) -> Me:
    policy = console.policy
    permissions = {
        name: [mode.value for mode in Mode if policy.may(account.role, name, mode)]
        for name in policy.actions
    }
    return Me(
        username=account.username,
        name=account.name,
        role=account.role,
        permissions={name: modes for name, modes in permissions.items() if modes},
    )


def _refused(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
