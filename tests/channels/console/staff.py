"""Members of staff for the console tests: an account per role, signed in with its own client.

Accounts are made as ``mkoba staff create`` makes them. Each member has an httpx client
of its own on the console's app (its own cookie), knows its session's anti-forgery
token, and gives authenticator codes as a phone would: each one a later step than
the last (``Authenticator``).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from mkoba.app import Platform
from mkoba.staff import accounts
from mkoba.staff.credentials import totp_now
from mkoba.staff.policy import shipped

PASSWORD = "Campus Admin 2026"
_numbers = itertools.count(1)


def make_account(platform: Platform, role: str, phone: str = "") -> tuple[str, str]:
    """A new account of ``role``: its username and TOTP seed."""
    assert platform.console is not None
    username = f"{role}.{next(_numbers)}"
    _, secret = accounts.create(
        platform.services.store,
        platform.console.key,
        shipped(),
        username,
        "Test Staff",
        role,
        PASSWORD,
        time.time_ns(),
        phone,
    )
    return username, secret


class Authenticator:
    """An authenticator app's codes, each of a later time-step than the last one given.

    A code is accepted within a step either side of now, once: the first is the step
    before now (while enough of it is left), and when the window's steps are used up
    it waits for the next step.
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.last = 0

    def next(self) -> str:
        """The next code to type.

        The step before now is only given with 15 s of it still accepted: a slow page
        (CI on two busy cores) may take seconds between this and the server's check.
        """
        while True:
            clock = time.time()
            now = int(clock // 30)
            early = now - 1 if clock - now * 30 < 15 else now
            step = max(early, self.last + 1)
            if step <= now + 1:
                self.last = step
                return totp_now(self.secret, step * 30 + 1)
            time.sleep(0.5)


@dataclass
class Member:
    """A signed-in member of staff."""

    username: str
    role: str
    secret: str
    client: httpx.AsyncClient
    csrf: str = ""
    authenticator: Authenticator = field(init=False)

    def __post_init__(self) -> None:
        self.authenticator = Authenticator(self.secret)

    def code(self) -> str:
        """The next authenticator code (a later step each time)."""
        return self.authenticator.next()

    async def post(self, path: str, body: Any = None, *, csrf: bool = True) -> httpx.Response:
        """A write, with the session's anti-forgery token unless told not to send it."""
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return await self.client.post(f"/staff/v1{path}", json=body, headers=headers)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        """A read."""
        return await self.client.get(f"/staff/v1{path}", params=params)

    async def make(self, product: str, note: str = "", **fields: str) -> httpx.Response:
        """Start a staff command."""
        return await self.post("/commands", {"product": product, "fields": fields, "note": note})

    async def approve(self, command_id: int, code: str | None = None) -> httpx.Response:
        """Approve a command with a fresh code."""
        return await self.post(f"/commands/{command_id}/approve", {"code": code or self.code()})


async def sign_in(platform: Platform, role: str, phone: str = "") -> Member:
    """A new member of staff of ``role``, signed in on a client of their own."""
    username, secret = make_account(platform, role, phone)
    member = Member(username, role, secret, _client(platform))
    await _signed(member)
    return member


async def sign_in_again(platform: Platform, member: Member) -> Member:
    """``member`` signed in on ``platform`` (after a restart: a new client, later codes)."""
    member.client = _client(platform)
    await _signed(member)
    return member


def _client(platform: Platform) -> httpx.AsyncClient:
    assert platform.console is not None
    transport = httpx.ASGITransport(app=platform.console.app())
    return httpx.AsyncClient(transport=transport, base_url="http://console")


async def _signed(member: Member) -> None:
    signed = await member.client.post(
        "/staff/v1/sign-in",
        json={"username": member.username, "password": PASSWORD, "code": member.code()},
    )
    assert signed.status_code == 200, signed.text
    member.csrf = signed.json()["csrf"]
