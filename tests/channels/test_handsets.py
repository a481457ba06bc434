"""Nobody acts for another phone: the simulated handsets' inbox, SMS and STK prompts.

A real ``mkoba serve`` with demo data, reached over HTTP as an attacker on the
same network would reach it: knowing a customer's number, holding a paired
handset of their own at most. Beside each refusal, the customer's own paired
handset does the same thing and succeeds, so a refusal is never a route that
simply does not work. A PIN reset is made by staff in the operator console, which
the native API cannot reach: that chain runs on a platform in process, its HTTP
app served over ASGI, with the reset asked for as the console asks.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from mkoba.app import Platform, build_app
from mkoba.parties.handsets import HandsetKey
from mkoba.settings import Settings
from tests.channels.serving import Served, serve
from tests.channels.ussd.conftest import balance, customer
from tests.compat.support import stk_push, token
from tests.conftest import MakePlatform
from tests.world import World, wallet

CARE, STAFF_PIN, PIN = "254711900001", "9753", "1357"
# Nobody listens here: the STK callbacks of these tests go nowhere, as they may.
NOWHERE = "http://127.0.0.1:9/callback"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo platform, as ``make serve`` runs it."""
    with serve(tmp_path_factory.mktemp("handsets")) as served:
        yield served


@pytest.fixture(scope="module")
def client(server: Served) -> Iterator[httpx.Client]:
    """A client that holds no handset: an attacker's curl."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def _refused(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"] == "Handset"
    body: dict[str, Any] = answer.json()
    assert body["ok"] is False and body["code"] == "not_allowed"
    return body


def test_an_inbox_opens_only_to_its_own_handset(server: Served, client: httpx.Client) -> None:
    victim, thief = customer(client), customer(client)
    forged = {"Authorization": f"Handset {victim}.{'A' * 43}"}
    strangers = ({}, server.handset(thief), forged, {"Authorization": f"Bearer {victim}"})
    refusals = [_refused(client.get(f"/api/v1/sms/{victim}", headers=h)) for h in strangers]
    # A number nobody has is refused in the same words: the refusal tells nothing.
    refusals.append(_refused(client.get("/api/v1/sms/254799999999")))
    assert all(refusal == refusals[0] for refusal in refusals)
    assert not any("messages" in refusal for refusal in refusals)
    own = client.get(f"/api/v1/sms/0{victim[3:]}", headers=server.handset(victim))
    assert own.status_code == 200, own.text
    assert own.json()["msisdn"] == victim and isinstance(own.json()["messages"], list)


def test_an_sms_comes_only_from_the_handset_that_sends_it(
    server: Served, client: httpx.Client
) -> None:
    victim, thief = customer(client), customer(client)
    sms = {"from": victim, "to": "456", "text": "BAL"}
    for headers in ({}, server.handset(thief)):
        answer = client.post("/api/v1/sms/inbound", json=sms, headers=headers)
        assert answer.status_code == 401, answer.text
        assert "reply" not in answer.json()
    own = client.post("/api/v1/sms/inbound", json=sms, headers=server.handset(victim))
    assert own.status_code == 200 and own.json()["ok"] is True


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """The in-process test and its platform on one asyncio loop."""
    return "asyncio"


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    """A platform in process, with the simulated handsets (no real SMSC)."""
    return await make_platform("handsets")


async def _take_over(
    http: httpx.AsyncClient, victim: str, thief: str, headers: dict[str, str]
) -> bool:
    """The chain found on a fresh clone: the reset's temporary PIN, made yours, then spent."""
    inbox = await http.get(f"/api/v1/sms/{victim}", headers=headers)
    if inbox.status_code != 200:
        return False
    texts = [m["text"] for m in inbox.json()["messages"] if "temporary PIN" in m["text"]]
    temporary = re.search(r"temporary PIN is ([0-9]{4,6})", texts[-1])
    assert temporary is not None, texts
    body = {"msisdn": victim, "pin": temporary[1], "new_pin": "4826"}
    changed = await http.post("/api/v1/change-pin", json=body)
    assert changed.status_code == 200, changed.text
    body = {"msisdn": victim, "pin": "4826", "to": thief, "amount": 100}
    sent = await http.post("/api/v1/send-money", json=body)
    assert sent.status_code == 200, sent.text
    return True


def test_nobody_resets_a_pin_over_the_api(server: Served, client: httpx.Client) -> None:
    # A staff member's number and PIN (or anyone's) no longer reset a PIN: no such route.
    victim = customer(client, 20_000)
    before = balance(client, victim)
    reset = {"msisdn": CARE, "pin": STAFF_PIN, "customer": victim}
    for path in ("/api/v1/pin/reset", "/api/v1/pin/unlock"):
        answer = client.post(path, json=reset)
        assert answer.status_code in (404, 405), answer.text
    # The victim's PIN still works, and their own phone got no temporary PIN.
    assert balance(client, victim) == before
    inbox = client.get(f"/api/v1/sms/{victim}", headers=server.handset(victim))
    assert inbox.status_code == 200, inbox.text
    assert not any("temporary PIN" in m["text"] for m in inbox.json()["messages"])


@pytest.mark.anyio
async def test_a_care_reset_cannot_be_turned_into_a_takeover(platform: Platform) -> None:
    world = World(platform)
    victim_party, thief_party = await world.customer(20_000), await world.customer()
    victim, thief = victim_party.msisdn, thief_party.msisdn
    assert victim and thief
    handsets = HandsetKey.load_or_create(platform.settings.keys_dir)
    transport = httpx.ASGITransport(app=build_app(platform, _nothing))
    async with httpx.AsyncClient(transport=transport, base_url="http://mkoba") as http:
        before = await world.available(wallet(victim_party))
        reset = await world.by_staff("reset_pin", customer=victim)
        assert reset.ok, reset
        # The temporary PIN reached the victim's phone (and only that: it is in one SMS).
        (sms,) = await world.sms(reset.request_id)
        assert sms.recipient == victim and "temporary PIN" in sms.body
        # Without a handset, with the thief's own, with a forged one: the chain stops at once.
        forged = {"Authorization": f"Handset {victim}.{'A' * 43}"}
        for headers in ({}, handsets.credential(thief).header(), forged):
            assert not await _take_over(http, victim, thief, headers)
        # The PIN the thief would have set was never set.
        refused = await http.post("/api/v1/balance", json={"msisdn": victim, "pin": "4826"})
        assert refused.status_code == 401 and refused.json()["code"] == "wrong_pin"
        # The customer's own phone walks the same steps: the chain is real, and theirs alone.
        assert await _take_over(http, victim, thief, handsets.credential(victim).header())
        assert await world.available(wallet(victim_party)) < before


def test_another_handset_neither_sees_nor_answers_a_prompt_and_burns_no_pin_tries(
    server: Served, client: httpx.Client
) -> None:
    victim, thief = customer(client, 10_000), customer(client)
    pushed = stk_push(server.url, token(server.url), victim, 10, NOWHERE)
    assert pushed.status_code == 200, pushed.text
    checkout = pushed.json()["CheckoutRequestID"]
    _refused(client.get(f"/api/v1/stk/{victim}/pending"))
    _refused(client.get(f"/api/v1/stk/{victim}/pending", headers=server.handset(thief)))
    # More wrong PINs than it takes to lock one, and a cancel, from both strangers.
    unknown = client.post(
        "/api/v1/stk/ws_CO_unknown/answer", json={"cancel": True}, headers=server.handset(thief)
    )
    for guess in ("0000", "1111", "2222", "3333", "4444", "5555", None):
        body: dict[str, Any] = {"pin": guess} if guess else {"cancel": True}
        _refused(client.post(f"/api/v1/stk/{checkout}/answer", json=body))
        stranger = client.post(
            f"/api/v1/stk/{checkout}/answer", json=body, headers=server.handset(thief)
        )
        # As if there were no such prompt: the same answer as for an id nobody pushed.
        assert stranger.status_code == unknown.status_code == 404
        assert stranger.json()["data"] == unknown.json()["data"]
    # Still the customer's, still waiting; and their PIN still works: no try was burned.
    mine = server.handset(victim)
    shown = client.get(f"/api/v1/stk/{victim}/pending", headers=mine).json()["prompts"]
    assert [prompt["checkout_id"] for prompt in shown] == [checkout]
    paid = client.post(f"/api/v1/stk/{checkout}/answer", json={"pin": PIN}, headers=mine)
    assert paid.status_code == 200, paid.text
    assert paid.json()["data"]["ResultCode"] == "0"


@pytest.mark.parametrize(
    ("smpp", "status"), [(None, 401), ("smpp://esme:password@127.0.0.1:2775", 404)]
)
def test_with_a_real_smsc_the_simulated_handsets_are_gone(
    tmp_path: Path, smpp: str | None, status: int
) -> None:
    settings = Settings(db=str(tmp_path / "mkoba.db"), keys_dir=tmp_path / "keys", smpp=smpp)
    # Not started (no lifespan): which routes exist is decided when they are mounted.
    app = build_app(Platform(settings), _nothing)
    calls = (
        ("GET", "/api/v1/sms/254712000001", None),
        ("POST", "/api/v1/sms/inbound", {"from": "254712000001", "to": "456", "text": "BAL"}),
        ("GET", "/api/v1/stk/254712000001/pending", None),
        ("POST", "/api/v1/stk/ws_CO_1/answer", {"pin": PIN}),
    )

    async def statuses() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mkoba") as http:
            return [(await http.request(m, p, json=b)).status_code for m, p, b in calls]

    assert asyncio.run(statuses()) == [status] * len(calls)
    documented = app.openapi()["paths"]
    assert ("/api/v1/sms/{msisdn}" in documented) is (smpp is None)


@asynccontextmanager
async def _nothing(_app: Any) -> AsyncIterator[None]:
    yield
