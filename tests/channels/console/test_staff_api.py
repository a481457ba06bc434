"""The staff API: sign in with both factors, a session cookie, sign out with the CSRF token.

Method: the console's own app in-process (httpx's ASGI transport) on a running
platform, on both stores, with staff accounts made as ``mkoba staff create`` makes
them. Then ``mkoba serve`` itself: the console answers on its own port and only there.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mkoba.app import Platform
from mkoba.channels.console.auth import checks_waiting_max
from mkoba.staff import accounts, audit
from mkoba.staff.credentials import totp_now
from mkoba.staff.signin import failures_max
from tests.channels.console.staff import PASSWORD, make_account
from tests.channels.serving import serve
from tests.conftest import MakePlatform

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    return await make_platform("console")


@pytest.fixture
async def client(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    assert platform.console is not None
    transport = httpx.ASGITransport(app=platform.console.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        yield client


def _staff(platform: Platform, role: str) -> tuple[str, str]:
    """A new account of ``role``: its username and TOTP seed."""
    return make_account(platform, role)


def _code(secret: str, ahead_steps: int = 0) -> str:
    return totp_now(secret, time.time() + 30 * ahead_steps)


async def _sign_in(
    client: httpx.AsyncClient, username: str, code: str, password: str = PASSWORD
) -> httpx.Response:
    body = {"username": username, "password": password, "code": code}
    return await client.post("/staff/v1/sign-in", json=body)


async def test_both_factors_open_a_session_that_knows_the_role(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    username, secret = _staff(platform, "finance")
    signed = await _sign_in(client, username, _code(secret))
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert (body["username"], body["role"]) == (username, "finance")
    assert body["permissions"]["float_topup"] == ["check"]
    assert "reversal" in body["permissions"] and "customer_unmasked" not in body["permissions"]
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/staff" in cookie
    assert PASSWORD not in signed.text and secret not in signed.text
    me = await client.get("/staff/v1/me")
    assert me.status_code == 200 and me.json()["username"] == username
    # Signing out needs the session's anti-forgery token.
    assert (await client.post("/staff/v1/sign-out")).status_code == 403
    wrong = await client.post("/staff/v1/sign-out", headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    out = await client.post("/staff/v1/sign-out", headers={"X-CSRF-Token": body["csrf"]})
    assert out.status_code == 204
    assert (await client.get("/staff/v1/me")).status_code == 401


async def test_every_wrong_attempt_reads_the_same_and_a_code_works_once(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    username, secret = _staff(platform, "care_l1")
    answers = [
        await _sign_in(client, "nobody-here", _code(secret)),
        await _sign_in(client, username, _code(secret), password="Wrong Password 1"),
        await _sign_in(client, username, "000000" if _code(secret) != "000000" else "111111"),
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({a.text for a in answers}) == 1
    code = _code(secret)
    assert (await _sign_in(client, username, code)).status_code == 200
    client.cookies.clear()
    again = await _sign_in(client, username, code)
    assert again.status_code == 401


async def test_ten_failures_lock_the_account_and_the_store_remembers(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    username, secret = _staff(platform, "compliance")
    for _ in range(failures_max - 1):
        assert (await _sign_in(client, username, "000000", "Wrong Password 1")).status_code == 401
    locked = await _sign_in(client, username, "000000", "Wrong Password 1")
    assert locked.status_code == 423
    # The right factors are refused while it is locked, and the lock is in the store.
    assert (await _sign_in(client, username, _code(secret, 1))).status_code == 423
    assert platform.console is not None
    stored = accounts.by_username(platform.services.store, platform.console.key, username)
    assert stored is not None and stored.state.locked_until > time.time()


async def test_bad_bodies_are_refused_and_nothing_leaks(client: httpx.AsyncClient) -> None:
    for body in (
        "{}",
        '{"username": "a", "password": "b", "code": "12345"}',
        '{"username": "a", "password": "b", "code": "abcdef"}',
        '{"username": "a\\ud800", "password": "b", "code": "123456"}',
        '{"username": "a", "password": "b\\ud800", "code": "123456"}',
        '{"username": "a", "password": "b\\u0000", "code": "123456"}',
        '{"username": "a", "password": "b", "code": "123456", "extra": 1}',
        "not json",
    ):
        answer = await client.post(
            "/staff/v1/sign-in", content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 422, (body, answer.text)
        assert set(answer.json()) == {"error"}  # what was sent is never echoed
    client.cookies.set("mkoba_staff", "x" * 500)
    assert (await client.get("/staff/v1/me")).status_code == 401
    big = "{" + '"username":"' + "a" * 100_000 + '"}'
    too_large = await client.post(
        "/staff/v1/sign-in", content=big, headers={"content-type": "application/json"}
    )
    assert too_large.status_code == 413


def test_the_console_listens_apart_from_the_public_api(tmp_path: Path) -> None:
    with serve(tmp_path) as served:
        found = re.search(r"console\s+(http://127\.0\.0\.1:\d+)/staff", served.log.read_text())
        assert found is not None, served.log.read_text()[-2000:]
        console_url = found.group(1)
        assert console_url != served.url
        assert httpx.get(f"{console_url}/staff/v1/me").status_code == 401
        assert httpx.get(f"{served.url}/staff/v1/me").status_code == 404
        assert httpx.get(f"{console_url}/api/v1/balance").status_code == 404
        assert httpx.get(f"{console_url}/staff/openapi.json").json()["info"]["title"] == (
            "mkoba staff API"
        )


async def test_a_flood_of_sign_ins_is_turned_away_not_served_out_of_memory(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    # Each password check takes 64 MiB: only a few run at once, and past a queue the
    # rest are told to try again, while a real member of staff still gets in after.
    flood = await asyncio.gather(
        *(_sign_in(client, f"nobody{index}", "123456") for index in range(48))
    )
    statuses = [answer.status_code for answer in flood]
    assert set(statuses) == {401, 503}, statuses
    assert statuses.count(503) >= 48 - checks_waiting_max
    username, secret = _staff(platform, "auditor")
    assert (await _sign_in(client, username, _code(secret))).status_code == 200


async def test_every_sign_in_and_sign_out_is_in_the_audit_trail(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    username, secret = _staff(platform, "auditor")
    assert (await _sign_in(client, username, "000000", "Wrong Password 1")).status_code == 401
    assert (await _sign_in(client, "ghost", "000000")).status_code == 401
    signed = await _sign_in(client, username, _code(secret))
    out = await client.post("/staff/v1/sign-out", headers={"X-CSRF-Token": signed.json()["csrf"]})
    assert out.status_code == 204
    assert platform.console is not None
    store = platform.services.store
    rows = store.query(
        "SELECT action, outcome, actor, origin FROM staff_audit WHERE actor IN (?, ?)"
        " OR (action = 'sign_out' AND role = 'auditor') ORDER BY seq",
        (username, "ghost"),
    )
    tail = [(action, outcome, actor) for action, outcome, actor, _ in rows][-4:]
    assert tail == [
        ("sign_in", "wrong", username),
        ("sign_in", "unknown_user", "ghost"),
        ("sign_in", "signed_in", username),
        ("sign_out", "ok", username),
    ]
    assert all(origin for *_, origin in rows)
    checked, broken = audit.verify(store, platform.console.trail.key)
    assert broken is None and checked >= 4
    assert PASSWORD not in str(store.query("SELECT * FROM staff_audit"))
