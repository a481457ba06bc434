"""The back office's pages, in process: they need a session, escape what they show, and
load nothing from elsewhere; the vendored htmx is the one its record names.

The browser itself drives them in ``tests/e2e``; these are the checks that need none.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mkoba.app import Platform
from tests.channels.console.staff import PASSWORD, Authenticator, make_account
from tests.conftest import MakePlatform

pytestmark = pytest.mark.anyio
CONSOLE = Path(__file__).parents[3] / "src/mkoba/channels/console"


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    return await make_platform("console-pages")


@pytest.fixture
async def browser(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    assert platform.console is not None
    transport = httpx.ASGITransport(app=platform.console.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        yield client


def test_the_vendored_htmx_is_the_one_its_record_names() -> None:
    record = (CONSOLE / "static/VENDORED.md").read_text("utf-8")
    sha = re.search(r"`htmx\.min\.js` \| `htmx\.org` \| [0-9.]+ \|.*\| `([0-9a-f]{64})` \|", record)
    assert sha is not None
    body = (CONSOLE / "static/htmx.min.js").read_bytes()
    assert hashlib.sha256(body).hexdigest() == sha.group(1)


def test_no_template_loads_anything_from_elsewhere() -> None:
    for template in (CONSOLE / "templates").glob("*.html"):
        text = template.read_text("utf-8")
        assert not re.search(r"""(src|href|action)=["'](https?:)?//""", text), template.name


async def test_pages_need_a_session_and_refuse_without_the_csrf_token(
    platform: Platform, browser: httpx.AsyncClient
) -> None:
    for path in (
        "/staff/home",
        "/staff/customers",
        "/staff/reversals",
        "/staff/audit",
        "/staff/tickets",
        "/staff/alerts",
        "/staff/alerts/1",
        "/staff/finance",
    ):
        answer = await browser.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/staff/", path
    start = await browser.get("/staff/")
    assert start.status_code == 200 and "Sign in" in start.text
    assert "no-store" in start.headers["cache-control"]
    assert (await browser.get("/staff/static/htmx.min.js")).status_code == 200
    username, secret = make_account(platform, "care_l1")
    password = PASSWORD.replace(" ", "+")
    body = f"username={username}&password={password}&code={Authenticator(secret).next()}"
    signed = await browser.post(
        "/staff/ui/sign-in",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded", "HX-Request": "true"},
    )
    assert signed.status_code == 204 and signed.headers["hx-redirect"] == "/staff/home"
    home = await browser.get("/staff/home")
    assert home.status_code == 200 and "Waiting for you" in home.text
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', home.text)
    assert token is not None
    # A write without the session's token is refused, and says so in the page's alert.
    forged = await browser.post(
        "/staff/ui/commands",
        content="product=reset_pin&customer=0712000001",
        headers={"content-type": "application/x-www-form-urlencoded", "HX-Request": "true"},
    )
    assert forged.status_code == 403 and "X-CSRF-Token" in forged.text
    # What a page shows back is escaped, never markup.
    hostile = await browser.get("/staff/customers", params={"by": "receipt", "q": "<script>x"})
    assert hostile.status_code == 422 and "<script>x" not in hostile.text
    found = await browser.get("/staff/customers", params={"by": "receipt", "q": "NOSUCH1"})
    assert found.status_code == 200 and "Nobody found." in found.text
    made = await browser.post(
        "/staff/ui/commands",
        content="product=set_kyc_tier&customer=0712000001&tier=%3Cb%3Ebold",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "HX-Request": "true",
            "X-CSRF-Token": token.group(1),
        },
    )
    assert made.status_code == 403 and "<" not in made.text  # care L1 may not, and says so
    # Text that cannot be stored is refused at the edge, whichever field carries it, and
    # nothing is made of it.
    before = (await browser.get("/staff/home")).text.count("/staff/commands/")
    for body in (
        "product=reset_pin&customer=0712000001&note=hello%00there",
        "product=reset_pin&customer=0712000001&note=%1B%5B31m",
        "product=reset_pin&customer%07=0712000001",
    ):
        refused = await browser.post(
            "/staff/ui/commands",
            content=body,
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "HX-Request": "true",
                "X-CSRF-Token": token.group(1),
            },
        )
        assert refused.status_code == 422 and "control character" in refused.text, body
    not_utf8 = await browser.post(
        "/staff/ui/commands",
        content=b"product=reset_pin&note=\xff\xfe",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "HX-Request": "true",
            "X-CSRF-Token": token.group(1),
        },
    )
    assert not_utf8.status_code == 422 and "UTF-8" in not_utf8.text
    assert (await browser.get("/staff/home")).text.count("/staff/commands/") == before
