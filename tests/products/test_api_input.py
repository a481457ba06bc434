"""Bad input to the native API gets a clear 4xx in the envelope, and moves nothing.

Found by an attacker: ``"amount": true`` moved Ksh1.00, malformed JSON answered
"66: JSON decode error", and text the store cannot hold reached it. One unit
convention: ``amount`` in shillings (number or string), ``amount_minor`` in
cents, named in every answer. Each test sends what the attacker (or a confused
client) sent and checks the answer and the payer's balance.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mkoba.app import Platform
from tests.products.world import CUSTOMER_PIN, KSH, World, api_client, wallet

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def client(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(platform) as client:
        yield client


async def _send(client: httpx.AsyncClient, raw: bytes) -> httpx.Response:
    return await client.post(
        "/api/v1/send-money", content=raw, headers={"content-type": "application/json"}
    )


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        ("true", "amount: an amount is a number or a string"),
        ("false", "amount: an amount is a number or a string"),
        ("null", "amount: give amount (in shillings) or amount_minor (in cents)"),
        ("[1]", "amount: an amount is a number or a string"),
        ('"' + "9" * 5000 + '"', "amount: an amount has at most 24 characters"),
        ('"1e3"', "amount: not an amount"),
        ('"\\u0661\\u0662"', "amount: not an amount"),
        ('"10\\u0000"', "amount: contains a control character (U+0000)"),
        ("1e400", "amount: an amount is a finite number"),
        ("NaN", "amount: an amount is a finite number"),
        ("-5", "amount must be more than zero"),
        ("10.001", "KES has 2 decimal places"),
    ],
)
async def test_an_amount_that_is_not_one_moves_nothing(
    world: World, client: httpx.AsyncClient, amount: str, why: str
) -> None:
    payer, payee = await world.customer(100), await world.customer()
    assert payer.msisdn and payee.msisdn
    raw = (
        f'{{"msisdn":"{payer.msisdn}","pin":"{CUSTOMER_PIN}","to":"{payee.msisdn}",'
        f'"amount":{amount}}}'
    ).encode()
    answer = await _send(client, raw)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == "invalid_input" and why in body["message"], body
    assert await world.available(wallet(payer)) == 100 * KSH
    assert await world.available(wallet(payee)) == 0


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("to", "07\\ud800"),
        ("to", "07\\u0000"),
        ("msisdn", "\\udfff"),
        ("pin", "13\\u00b257"),
    ],
)
async def test_text_that_cannot_be_stored_is_refused_at_the_edge(
    world: World, client: httpx.AsyncClient, field: str, text: str
) -> None:
    payer = await world.customer(100)
    assert payer.msisdn
    fields = {"msisdn": payer.msisdn, "pin": CUSTOMER_PIN, "to": "0712000002", "amount": "10"}
    fields[field] = "@"
    raw = (
        ("{" + ",".join(f'"{name}":"{value}"' for name, value in fields.items()) + "}")
        .replace('"@"', f'"{text}"')
        .encode()
    )
    answer = await _send(client, raw)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_input"
    assert await world.available(wallet(payer)) == 100 * KSH


async def test_malformed_json_says_where(client: httpx.AsyncClient) -> None:
    answer = await _send(client, b'{"msisdn": "0712000001", "pin": ')
    assert answer.status_code == 400
    message = answer.json()["message"]
    assert message.startswith("body: not valid JSON (") and "at character" in message, message
    assert not message.startswith("66")


async def test_an_oversized_body_is_refused_unread(client: httpx.AsyncClient) -> None:
    raw = b'{"msisdn": "' + b"1" * 70_000 + b'"}'
    answer = await _send(client, raw)
    assert answer.status_code == 413
    assert answer.json()["code"] == "invalid_input"


async def test_amounts_in_either_unit_and_named_in_the_answer(
    world: World, client: httpx.AsyncClient
) -> None:
    payer, payee = await world.customer(1_000), await world.customer()
    assert payer.msisdn and payee.msisdn
    me = {"msisdn": payer.msisdn, "pin": CUSTOMER_PIN, "to": payee.msisdn}
    in_shillings = await client.post("/api/v1/send-money", json={**me, "amount": "100.50"})
    in_cents = await client.post("/api/v1/send-money", json={**me, "amount_minor": 10_050})
    for answer in (in_shillings, in_cents):
        data = answer.json()["data"]
        assert answer.status_code == 200, answer.text
        assert (data["amount"], data["amount_minor"]) == ("100.50", 10_050)
        assert isinstance(data["fee_minor"], int) and data["fee"].count(".") == 1
    assert await world.available(wallet(payee)) == 2 * 10_050
    both = await client.post("/api/v1/send-money", json={**me, "amount": 1, "amount_minor": 100})
    assert both.status_code == 400 and "amount" in both.json()["message"]
    statement = await client.post(
        "/api/v1/mini-statement", json={"msisdn": payer.msisdn, "pin": CUSTOMER_PIN}
    )
    entry = statement.json()["data"]["entries"][0]
    fee = in_cents.json()["data"]["fee_minor"]
    assert entry["amount_minor"] == -(10_050 + fee)
    cents = 10_050 + fee
    assert entry["amount"] == f"-{cents // 100}.{cents % 100:02d}"


async def test_a_number_where_text_is_expected_is_kept_as_text(
    world: World, client: httpx.AsyncClient
) -> None:
    payer, payee = await world.customer(100), await world.customer()
    assert payer.msisdn and payee.msisdn
    numeric_to = int(payee.msisdn)
    answer = await client.post(
        "/api/v1/send-money",
        json={"msisdn": payer.msisdn, "pin": CUSTOMER_PIN, "to": numeric_to, "amount": 10},
    )
    assert answer.status_code == 200, answer.text
    pin_as_number = await client.post(
        "/api/v1/balance", json={"msisdn": payer.msisdn, "pin": int(CUSTOMER_PIN)}
    )
    assert pin_as_number.status_code == 400
    assert pin_as_number.json()["message"] == "pin: Input should be a valid string"
