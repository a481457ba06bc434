"""``/staff/v1``: sign in, sign out, and who am I.

Every refusal of a sign-in reads the same whichever factor was wrong, and an unknown
username costs the same argon2 work as a known one. A locked account is told so
(for up to 30 minutes). The session cookie is ``HttpOnly`` and ``SameSite=Strict``
(``Secure`` on HTTPS); signing out needs the session's anti-forgery token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mkoba.channels.console.auth import (
    COOKIE,
    WRONG,
    caller,
    enter,
    leave,
    origin,
    set_session_cookie,
)
from mkoba.staff import accounts
from mkoba.staff.policy import Mode
from mkoba.text import text_problem

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel


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
        responses={401: {"description": WRONG}, 423: {"description": "Locked for a while"}},
    )
    async def sign_in_route(body: SignIn, http: Request) -> Response:
        """Sign in with the password and the authenticator's current code."""
        found, session_id, session = await enter(
            console, body.username, body.password, body.code, origin(http)
        )
        me = _me(console, found)
        response = JSONResponse(SignedIn(**me.model_dump(), csrf=session.csrf).model_dump())
        set_session_cookie(response, session_id, http)
        return response

    @api.post("/sign-out", status_code=204, responses={401: {}, 403: {}})
    async def sign_out(http: Request) -> Response:
        """End the session (it needs the session's anti-forgery token)."""
        who = await caller(console, http, writes=True)
        await leave(console, who, origin(http))
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/staff")
        return response

    @api.get("/me", response_model=Me, responses={401: {}})
    async def me(http: Request) -> Response:
        """Who is signed in, and what their role may do."""
        who = await caller(console, http)
        return JSONResponse(_me(console, who.account).model_dump())

    return api


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
