"""The native JSON API over HTTP (httpx against the ASGI app): envelopes, statuses, errors.

Every answer is the JSON envelope, with the HTTP status of its result code;
bad JSON, unknown routes, missing or unexpected fields and crashes are JSON
too, never an HTML page or a stack trace. A success is acknowledged after the
response is sent, which posts the money held pending on this channel.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mkoba.app import Platform, create_app
from mkoba.channels.api.channel import ROUTES
from mkoba.codes import Code
from mkoba.parties.handsets import HandsetKey
from mkoba.processor.request import Response
from mkoba.settings import Settings
from tests.processor.world import (
    CUSTOMER_PIN,
    KSH,
    World,
    available,
    eventually,
    request_state,
    running,
    settings_for,
    wallet,
)

pytestmark = pytest.mark.anyio

ENVELOPE = {"ok", "code", "message", "receipt", "request_id", "data"}


@pytest.fixture(scope="module")
def settings(module_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_for(module_store_url, tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
async def world(settings: Settings) -> AsyncIterator[World]:
    async with running(settings) as platform:
        yield await World(platform).setup()


@pytest.fixture
async def client(settings: Settings, world: World) -> AsyncIterator[httpx.AsyncClient]:
    # The platform is already started: the app's lifespan is not run by the transport.
    app = create_app(settings, world.platform)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://mkoba.test") as client:
        yield client


def envelope_of(answer: httpx.Response, status: int, code: Code) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == ENVELOPE, body
    assert body["code"] == str(code), body
    assert body["ok"] is code.ok
    assert isinstance(body["message"], str) and body["message"]
    return dict(body)


async def test_send_money_answers_the_envelope_and_posts_once_delivered(
    client: httpx.AsyncClient, world: World
) -> None:
    payer = await world.customer(5_000)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    answer = await client.post(
        "/api/v1/send-money",
        json={
            "msisdn": "0" + payer.msisdn[3:],
            "pin": CUSTOMER_PIN,
            "to": payee.msisdn,
            "amount": 1000,
        },
        headers={"Idempotency-Key": "order-17"},
    )
    body = envelope_of(answer, 200, Code.OK)
    assert body["request_id"] == f"api:{payer.msisdn}:order-17"
    assert isinstance(body["receipt"], str) and len(body["receipt"]) == 10
    data = body["data"]
    assert isinstance(data, dict)
    assert (data["amount"], data["fee"], data["balance"]) == ("1000.00", "13.00", "3987.00")
    minor = (data["amount_minor"], data["fee_minor"], data["balance_minor"])
    assert minor == (100_000, 1_300, 398_700)
    platform = world.platform

    # The success left only once the money was posted: nothing is pending behind it.
    assert (await request_state(platform, str(body["request_id"])))[1] == "completed"
    assert await available(platform, wallet(payee)) == 1_000 * KSH
    # The same key and body: the same bytes back, nothing moves again.
    replay = await client.post(
        "/api/v1/send-money",
        json={"msisdn": payer.msisdn, "pin": CUSTOMER_PIN, "to": payee.msisdn, "amount": "1000"},
        headers={"Idempotency-Key": "order-17"},
    )
    assert replay.status_code == 200 and replay.content == answer.content
    # The same key for another body is a conflict.
    other = await client.post(
        "/api/v1/send-money",
        json={"msisdn": payer.msisdn, "pin": CUSTOMER_PIN, "to": payee.msisdn, "amount": "2000"},
        headers={"Idempotency-Key": "order-17"},
    )
    envelope_of(other, 409, Code.DUPLICATE_REQUEST)
    assert await available(platform, wallet(payee)) == 1_000 * KSH
    assert await available(platform, wallet(payer)) == 3_987 * KSH


async def test_statuses_follow_the_result_codes(client: httpx.AsyncClient, world: World) -> None:
    payer = await world.customer(100)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    send = {"msisdn": payer.msisdn, "pin": CUSTOMER_PIN, "to": payee.msisdn}
    cases = [
        ({**send, "amount": "1000"}, 402, Code.INSUFFICIENT_FUNDS),
        ({**send, "amount": "10", "pin": "9999"}, 401, Code.WRONG_PIN),
        ({**send, "amount": "0.5"}, 422, Code.BELOW_MINIMUM),
        ({**send, "amount": "10", "to": payer.msisdn}, 400, Code.SAME_ACCOUNT),
        ({**send, "amount": "10", "to": world.msisdn()}, 404, Code.RECIPIENT_NOT_REGISTERED),
        ({**send, "amount": "ten"}, 400, Code.INVALID_INPUT),
        ({**send, "amount": "10", "msisdn": world.msisdn()}, 404, Code.NOT_REGISTERED),
    ]
    for body, status, code in cases:
        envelope_of(await client.post("/api/v1/send-money", json=body), status, code)
    again = {"msisdn": payer.msisdn, "pin": "4826", "name": "Again", "id_number": "1"}
    # Registering is for the phone itself: a simulated one shows its handset credential.
    envelope_of(await client.post("/api/v1/register", json=again), 403, Code.NOT_ALLOWED)
    keys = world.platform.settings.keys_dir
    phone = HandsetKey.load_or_create(keys).credential(payer.msisdn)
    registered = await client.post("/api/v1/register", json=again, headers=phone.header())
    envelope_of(registered, 409, Code.ALREADY_REGISTERED)
    balance = await client.post(
        "/api/v1/balance", json={"msisdn": payer.msisdn, "pin": CUSTOMER_PIN}
    )
    body = envelope_of(balance, 200, Code.OK)
    # Money in both units, each named: shillings as exact text, cents as an integer.
    assert body["data"] == {
        "account": "wallet",
        "balance": "100.00",
        "balance_minor": 10_000,
        "reserved": "0.00",
        "reserved_minor": 0,
        "incoming": "0.00",
        "incoming_minor": 0,
        "currency": "KES",
    }
    assert body["receipt"] is None


async def test_malformed_requests_get_json_errors(client: httpx.AsyncClient, world: World) -> None:
    payer = await world.customer()
    assert payer.msisdn
    bad_json = await client.post(
        "/api/v1/balance", content=b'{"msisdn": ', headers={"content-type": "application/json"}
    )
    envelope_of(bad_json, 400, Code.INVALID_INPUT)
    missing = envelope_of(
        await client.post("/api/v1/send-money", json={"msisdn": payer.msisdn}),
        400,
        Code.INVALID_INPUT,
    )
    assert "to: Field required" in str(missing["message"])
    no_amount = envelope_of(
        await client.post(
            "/api/v1/send-money", json={"msisdn": payer.msisdn, "pin": CUSTOMER_PIN, "to": "1"}
        ),
        400,
        Code.INVALID_INPUT,
    )
    assert no_amount["message"] == "amount: give amount (in shillings) or amount_minor (in cents)"
    extra = envelope_of(
        await client.post(
            "/api/v1/balance", json={"msisdn": payer.msisdn, "pin": CUSTOMER_PIN, "balance": 10**12}
        ),
        400,
        Code.INVALID_INPUT,
    )
    assert "balance: Extra inputs are not permitted" in str(extra["message"])
    number = envelope_of(
        await client.post("/api/v1/balance", json={"msisdn": "12345", "pin": CUSTOMER_PIN}),
        400,
        Code.INVALID_INPUT,
    )
    assert str(number["message"]).startswith("msisdn:")
    pin = envelope_of(
        await client.post("/api/v1/balance", json={"msisdn": payer.msisdn, "pin": "12ab"}),
        400,
        Code.INVALID_INPUT,
    )
    assert pin["message"] == "pin: a PIN is digits only"
    not_object = await client.post("/api/v1/balance", json=["not", "an", "object"])
    envelope_of(not_object, 400, Code.INVALID_INPUT)
    unknown = await client.get("/api/v1/lend-money")
    envelope_of(unknown, 404, Code.UNKNOWN_PRODUCT)
    wrong_method = await client.get("/api/v1/send-money")
    envelope_of(wrong_method, 405, Code.INVALID_INPUT)
    long_key = await client.post(
        "/api/v1/balance",
        json={"msisdn": payer.msisdn, "pin": CUSTOMER_PIN},
        headers={"Idempotency-Key": "k" * 201},
    )
    envelope_of(long_key, 400, Code.INVALID_INPUT)


async def test_a_crash_is_a_json_500_without_a_trace(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    payer = await world.customer()
    assert payer.msisdn

    async def crash(_request: object, _timeout_s: float) -> Response:
        raise RuntimeError("internal detail /srv/secret/path")

    platform: Platform = world.platform
    # Under the route: the bus it sends the request through breaks.
    monkeypatch.setattr(platform.bus, "request", crash)
    answer = await client.post(
        "/api/v1/balance", json={"msisdn": payer.msisdn, "pin": CUSTOMER_PIN}
    )
    body = envelope_of(answer, 500, Code.SYSTEM_ERROR)
    assert "secret" not in answer.text and "Traceback" not in answer.text
    assert body["message"] == Code.SYSTEM_ERROR.message


async def test_openapi_documents_every_product(client: httpx.AsyncClient) -> None:
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200
    document = spec.json()
    assert document["info"]["title"] == "mkoba"
    for product, (path, _, _) in ROUTES.items():
        assert "post" in document["paths"][path], product
    send = document["paths"]["/api/v1/send-money"]["post"]
    assert send["requestBody"]["required"] is True
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_service_routes(client: httpx.AsyncClient, world: World, settings: Settings) -> None:
    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["profile"].startswith("kenya@")
    index = (await client.get("/")).json()
    assert index["api"]["send_money"] == "/api/v1/send-money"
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200 and "mkoba" in metrics.text
    assert "mkoba_ledger_writer_ok 1.0" in metrics.text
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "role": "all", "reasons": []}
    assert (await client.get("/health/live")).json() == {"live": True}
    customer = await world.customer()
    assert customer.msisdn

    # The number's own handset reads its inbox (paired with the server's handset key).
    paired = HandsetKey.load(settings.keys_dir).credential(customer.msisdn).header()

    async def welcomed() -> bool:
        answer = await client.get(f"/api/v1/sms/0{customer.msisdn[3:]}", headers=paired)
        inbox = answer.json()
        return any("Welcome to M-PESA" in sms["text"] for sms in inbox["messages"])

    await eventually(welcomed, what="the welcome SMS in the developer inbox")
