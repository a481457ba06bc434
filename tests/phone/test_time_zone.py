"""The terminal phone shows an SMS's time in the server's zone, the zone its text is in.

An SMS that said "saa 6:28 usiku" (00:28 in Nairobi) was shown beside "21:28",
the handset machine's UTC. The server says its profile's zone on /health; the
phone shows every SMS time in it, with the zone's name.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from rich.console import Console

from mkoba.app import Platform, create_app
from mkoba.phone.handset import Handset
from mkoba.phone.server import Server
from mkoba.settings import Settings
from tests.channels.serving import Served, serve
from tests.channels.ussd.conftest import customer

CAMPUS = Path(__file__).parents[2] / "src/mkoba/catalog/profiles/campus.yaml"
# 00:28 in Nairobi on 5 December 2026 is 21:28 UTC the day before.
AT = dt.datetime(2026, 12, 5, 0, 28, tzinfo=ZoneInfo("Africa/Nairobi")).timestamp()


@pytest.fixture(autouse=True)
def utc_machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The handset runs on a machine whose own zone is UTC (as a server or a CI box)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _phone(health: object) -> tuple[Handset, io.StringIO]:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200, json=health)
        if request.url.path == "/api/v1/sms/254712000001":
            message = {"id": 1, "from": "MPESA", "text": "Imethibitishwa.", "at": AT}
            return httpx.Response(200, json={"messages": [message]})
        return httpx.Response(404)

    client = httpx.Client(base_url="http://mkoba", transport=httpx.MockTransport(handle))
    out = io.StringIO()
    handset = Handset(Server("http://mkoba", "254712000001", client), Console(file=out, width=100))
    return handset, out


def test_an_sms_time_is_shown_in_the_servers_zone() -> None:
    handset, out = _phone({"status": "ok", "timezone": "Africa/Nairobi"})

    handset._catch_up()
    handset._show_inbox()

    assert "SMS from MPESA  05/12 00:28 EAT" in out.getvalue()


@pytest.mark.parametrize(
    "health", [{"status": "ok"}, ["not", "a", "mapping"], {"timezone": "Mars/Olympus"}]
)
def test_a_server_that_names_no_zone_gets_utc_said_out_loud(health: object) -> None:
    handset, out = _phone(health)

    handset._catch_up()
    handset._show_inbox()

    assert "SMS from MPESA  04/12 21:28 UTC" in out.getvalue()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_health_names_the_profiles_zone(tmp_path: Path, anyio_backend: str) -> None:
    profile = tmp_path / "elsewhere.yaml"
    text = CAMPUS.read_text("utf-8").replace("Africa/Nairobi", "Asia/Kolkata")
    profile.write_text(text, "utf-8")
    settings = Settings(
        db=str(tmp_path / "mkoba.db"), keys_dir=tmp_path / "keys", profile=str(profile), demo=False
    )
    platform = Platform(settings)
    await platform.start()
    try:
        transport = httpx.ASGITransport(app=create_app(settings, platform))
        async with httpx.AsyncClient(transport=transport, base_url="http://mkoba") as client:
            health = (await client.get("/health")).json()
    finally:
        await platform.stop()

    assert health["timezone"] == "Asia/Kolkata"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("phone-zone")) as served:
        yield served


def test_the_phone_shows_a_real_sms_at_the_time_its_text_names(server: Served) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        sender, recipient = customer(client, 20_000), customer(client)
        answer = client.post(
            "/api/v1/send-money",
            json={"msisdn": sender, "pin": "1357", "to": recipient, "amount": 100},
        )
        assert answer.status_code == 200, answer.text
    out = io.StringIO()
    phone = Server(server.url, recipient, credential=None)
    phone.client.headers.update(server.handset(recipient))
    try:
        deadline = time.monotonic() + 15
        while not any("received Ksh100.00" in m.text for m in phone.inbox()[-1:]):
            assert time.monotonic() < deadline, "the confirmation SMS never came"
            time.sleep(0.1)
        handset = Handset(phone, Console(file=out, width=100))
        handset._catch_up()
        handset._show_inbox()
    finally:
        phone.close()

    shown = out.getvalue()
    assert " EAT" in shown
    sms = max(handset.inbox, key=lambda message: message.id)  # the one just received
    assert "received Ksh100.00" in sms.text, sms
    nairobi = dt.datetime.fromtimestamp(sms.at, ZoneInfo("Africa/Nairobi"))
    assert f"{nairobi:%d/%m %H:%M} EAT" in shown
    # The confirmation's own words name the same minute (or, sent across a minute's end,
    # the one before), in English's 12-hour clock.
    minutes = [nairobi, nairobi - dt.timedelta(minutes=1)]
    assert any(
        f"{m:%d/%m/%y} at {m:%I:%M %p}".replace(" at 0", " at ") in sms.text for m in minutes
    )
