"""The native API routes of the products, through the FastAPI app over ASGI, on both stores.

Method: the app is served in-process (httpx's ASGI transport) on a running
platform; each route is called with the JSON body a client would send. The
test checks the HTTP status, the envelope, and that the money really moved
(the route acknowledges delivery after answering, as in production).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from mkoba.app import Platform, build_app
from mkoba.channels.api.channel import ROUTES
from mkoba.parties import PartyKind, Purpose, Role, account_id
from mkoba.parties.handsets import HandsetKey
from tests.products.world import (
    AGENT_PIN,
    CUSTOMER_PIN,
    KSH,
    STAFF_PIN,
    World,
    float_of,
    wallet,
)

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _started_elsewhere(_app: Any) -> AsyncIterator[None]:
    yield


@pytest.fixture(scope="module")
def app(platform: Platform) -> FastAPI:
    return build_app(platform, _started_elsewhere)


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mkoba") as client:
        yield client


async def post(
    client: httpx.AsyncClient,
    path: str,
    status: int,
    headers: dict[str, str] | None = None,
    **body: Any,
) -> dict[str, Any]:
    """POST ``body`` to ``path``; the answer must have ``status`` and be an envelope."""
    answer = await client.post(path, json=body, headers=headers)
    assert answer.status_code == status, answer.text
    envelope: dict[str, Any] = answer.json()
    assert set(envelope) == {"ok", "code", "message", "receipt", "request_id", "data"}
    assert envelope["ok"] is (status == 200)
    return envelope


async def test_every_new_product_has_a_documented_route(app: FastAPI) -> None:
    summaries = {route.path: route.summary for route in app.routes if isinstance(route, APIRoute)}
    for product in (
        "pay_bill",
        "buy_goods",
        "buy_airtime",
        "send_unregistered",
        "redeem_voucher",
        "request_reversal",
        "float_transfer",
        "pin_unlock_self",
        "commission_statement",
        "set_language",
        "register_customer",
    ):
        path = ROUTES[product][0]
        assert summaries.get(path), path


# What only staff do, in the operator console: the native API has no route for it.
STAFF_ONLY = {
    "issue_emoney": "/api/v1/emoney/issue",
    "redeem_emoney": "/api/v1/emoney/redeem",
    "unlock_pin": "/api/v1/pin/unlock",
    "reset_pin": "/api/v1/pin/reset",
    "approve_reversal": "/api/v1/reversals/approve",
    "reject_reversal": "/api/v1/reversals/reject",
}


async def test_the_native_api_has_no_route_for_what_only_staff_do(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    paths = {route.path for route in app.routes if isinstance(route, APIRoute)}
    documented = app.openapi()["paths"]
    for product, path in STAFF_ONLY.items():
        assert product not in ROUTES, product
        assert path not in paths and path not in documented, path
        answer = await client.post(path, json={"msisdn": "254711900001", "pin": STAFF_PIN})
        assert answer.status_code in (404, 405), (path, answer.text)


async def test_customer_routes(world: World, client: httpx.AsyncClient) -> None:
    payer = await world.customer(2_000)
    org = await world.add_party(
        PartyKind.ORGANISATION,
        "Nairobi Water",
        number=world.number(),
        purposes=(Purpose.UTILITY,),
        roles=(Role.BILLER,),
        tariff="business_bears",
    )
    assert payer.msisdn and org.number
    me = {"msisdn": "0" + payer.msisdn[3:], "pin": CUSTOMER_PIN}
    paid = await post(
        client, "/api/v1/pay-bill", 200, **me, paybill=org.number, account="W-77", amount=300
    )
    assert paid["code"] == "ok" and paid["receipt"]
    assert await world.available(account_id(org.id, Purpose.UTILITY)) == 295 * KSH
    no_till = await post(client, "/api/v1/buy-goods", 404, **me, till="1", amount="10")
    assert no_till["code"] == "unknown_till"
    airtime = await post(client, "/api/v1/buy-airtime", 200, **me, amount=20)
    assert airtime["data"]["to"] == payer.msisdn
    off = await post(
        client, "/api/v1/send-unregistered", 404, **me, to=world.msisdn(), amount="100"
    )
    assert off["code"] == "unknown_product"
    assert await world.available(wallet(payer)) == 1_680 * KSH
    sw = await post(client, "/api/v1/language", 200, **me, language="sw")
    assert sw["data"] == {"language": "sw"}
    typo = await post(client, "/api/v1/pay-bill", 400, **me, paybil="1", account="A", amount=1)
    assert typo["code"] == "invalid_input"


async def test_reversal_routes(world: World, client: httpx.AsyncClient) -> None:
    payer = await world.customer(1_000)
    recipient = await world.customer()
    care = await world.staff(Role.CUSTOMER_CARE)
    assert payer.msisdn and recipient.msisdn and care.msisdn
    me = {"msisdn": payer.msisdn, "pin": CUSTOMER_PIN}
    sent = await post(client, "/api/v1/send-money", 200, **me, to=recipient.msisdn, amount=100)
    asked = await post(client, "/api/v1/reversals", 200, **me, receipt=sent["receipt"])
    assert asked["data"]["state"] == "held"
    # Staff decide in the operator console, not with their PIN on the native API.
    staff = {"msisdn": care.msisdn, "pin": STAFF_PIN, "receipt": sent["receipt"]}
    for path in ("/api/v1/reversals/approve", "/api/v1/reversals/reject"):
        gone = await client.post(path, json=staff)
        assert gone.status_code in (404, 405), gone.text
    again = await post(client, "/api/v1/reversals", 409, **me, receipt=sent["receipt"])
    assert again["code"] == "reversal_not_possible"
    assert await world.balances(wallet(payer), wallet(recipient)) == [900 * KSH, 0]
    approved = await world.by_staff("approve_reversal", receipt=sent["receipt"])
    assert approved.ok and approved.receipt, approved
    shown = await post(client, "/api/v1/balance", 200, **me)
    assert shown["data"]["balance_minor"] == 1_000 * KSH
    assert await world.available(wallet(recipient)) == 0


async def test_agent_routes(world: World, client: httpx.AsyncClient) -> None:
    office, (first, second) = await world.agent(1_000, stores=2)
    assert office.msisdn and first.msisdn and second.number
    moved = await post(
        client,
        "/api/v1/float-transfer",
        200,
        msisdn=office.msisdn,
        pin=AGENT_PIN,
        to=second.number,
        source="1",
        amount=250,
    )
    assert moved["data"]["amount_minor"] == 250 * KSH
    assert await world.available(float_of(second)) == 1_250 * KSH
    none = await post(
        client,
        "/api/v1/redeem-voucher",
        404,
        msisdn=first.msisdn,
        pin=AGENT_PIN,
        recipient=world.msisdn(),
        code="12345678",
    )
    assert none["code"] == "voucher_not_found"
    statement = await post(
        client, "/api/v1/commission-statement", 200, msisdn=office.msisdn, pin=AGENT_PIN
    )
    assert statement["data"]["balance_minor"] == 0


async def test_an_agent_registers_a_customer_on_the_api(
    world: World, client: httpx.AsyncClient
) -> None:
    _, (store,) = await world.agent()
    assert store.msisdn
    new = world.msisdn()
    agent = {"msisdn": "0" + store.msisdn[3:], "pin": AGENT_PIN}
    fields = {"customer": "0" + new[3:], "name": "Amani Juma", "id_number": "27182818"}
    made = await post(client, "/api/v1/agent/register-customer", 200, **agent, **fields)
    assert made["code"] == "ok" and made["data"]["store"] == store.id
    assert world.party(new).name == "Amani Juma"
    # The customer has no PIN yet: the API says so, and nothing moves.
    unset = await post(client, "/api/v1/balance", 401, msisdn=new, pin="1357")
    assert unset["code"] == "pin_not_set"
    again = await post(client, "/api/v1/agent/register-customer", 409, **agent, **fields)
    assert again["code"] == "already_registered"
    wrong = {**agent, "pin": "0000"}
    other = {**fields, "customer": world.msisdn()}
    refused = await post(client, "/api/v1/agent/register-customer", 401, **wrong, **other)
    assert refused["code"] == "wrong_pin"
    bad_id = await post(
        client, "/api/v1/agent/register-customer", 400, **agent, **{**other, "id_number": "1-2"}
    )
    assert bad_id["code"] == "invalid_input" and "id_number" in bad_id["message"]
    # The customer sets the first PIN from their own phone, with the ID the agent saw.
    phone = HandsetKey.load_or_create(world.platform.settings.keys_dir).credential(new)
    body = {"msisdn": new, "id_number": "27182818", "new_pin": "5820"}
    await post(client, "/api/v1/pin/unlock-self", 200, phone.header(), **body)
    await post(client, "/api/v1/balance", 200, msisdn=new, pin="5820")


async def test_pin_routes(world: World, client: httpx.AsyncClient) -> None:
    customer = await world.customer()
    care = await world.staff(Role.CUSTOMER_CARE)
    assert customer.msisdn and care.msisdn
    for _ in range(4):
        await post(client, "/api/v1/balance", 401, msisdn=customer.msisdn, pin="0000")
    locked = await post(client, "/api/v1/balance", 423, msisdn=customer.msisdn, pin="0000")
    assert locked["code"] == "pin_locked"
    # Staff unlock and reset in the operator console: the native API has no route for it.
    staff = {"msisdn": care.msisdn, "pin": STAFF_PIN, "customer": customer.msisdn}
    for path in ("/api/v1/pin/unlock", "/api/v1/pin/reset"):
        gone = await client.post(path, json=staff)
        assert gone.status_code in (404, 405), gone.text
    still = await post(client, "/api/v1/balance", 423, msisdn=customer.msisdn, pin=CUSTOMER_PIN)
    assert still["code"] == "pin_locked"
    assert (await world.by_staff("unlock_pin", customer=customer.msisdn)).ok
    await post(client, "/api/v1/balance", 200, msisdn=customer.msisdn, pin=CUSTOMER_PIN)
    assert (await world.by_staff("reset_pin", customer=customer.msisdn)).ok
    unlock = {"id_number": World.id_number(customer.msisdn), "new_pin": "7392"}
    # Only the phone itself may unlock with the ID number: without its handset, nobody.
    stranger = await post(client, "/api/v1/pin/unlock-self", 403, msisdn=customer.msisdn, **unlock)
    assert stranger["code"] == "not_allowed"
    other = HandsetKey.load_or_create(world.platform.settings.keys_dir).credential(care.msisdn)
    wrong_phone = await post(
        client,
        "/api/v1/pin/unlock-self",
        401,
        other.header(),
        msisdn=customer.msisdn,
        **unlock,
    )
    assert wrong_phone["code"] == "not_allowed"
    phone = HandsetKey.load_or_create(world.platform.settings.keys_dir).credential(customer.msisdn)
    mine = await post(
        client, "/api/v1/pin/unlock-self", 200, phone.header(), msisdn=customer.msisdn, **unlock
    )
    assert mine["code"] == "ok"
    await post(client, "/api/v1/balance", 200, msisdn=customer.msisdn, pin="7392")
    weak = await post(
        client, "/api/v1/pin/unlock-self", 400, msisdn=customer.msisdn, id_number="x", new_pin="12"
    )
    assert weak["code"] == "invalid_input"


async def test_the_books_balance(world: World) -> None:
    world.check_books()
