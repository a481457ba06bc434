"""The Daraja surface in process, on both stores: errors, leniency, STK outcomes, timeouts.

Method: one platform per store with the Daraja sandbox; each test talks HTTP to
the app as a client would, receives callbacks on a loopback listener, and
checks the money through the native API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mkoba.channels.daraja.routes import ROUTES
from mkoba.processor.context import Context
from mkoba.processor.request import Response
from tests.channels.daraja.harness import (
    INITIATOR,
    TEST_MSISDN,
    Served,
    arrived,
    query_body,
    result_urls,
    running,
    stk_body,
)
from tests.compat.listener import Listener, Reply

pytestmark = pytest.mark.anyio
ENVELOPE = {"requestId", "errorCode", "errorMessage"}


@pytest.fixture(scope="module")
async def served(
    module_store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    rules = "1032=cancel,1037=unreachable,2001=wrong_pin,7=ignore"
    async with running(
        module_store_url, tmp_path_factory.mktemp("http"), daraja_auto_rules=rules
    ) as it:
        yield it


def error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ENVELOPE, body
    assert body["errorCode"] == code, body


async def test_errors_are_daraja_envelopes_under_daraja_paths(served: Served) -> None:
    """Unknown paths, wrong methods, bad JSON, bad tokens: Daraja's codes; native keeps its own."""
    client = served.client
    error(await client.post("/mpesa/nothing/v1/here", json={}), 404, "404.001.01")
    error(await client.get("/mpesa/stkpush/v1/processrequest"), 405, "405.001")
    token = await served.token()
    headers = {"Authorization": f"Bearer {token}"}
    bad = await client.post(
        "/mpesa/stkpush/v1/processrequest", content=b"{not json", headers=headers
    )
    error(bad, 400, "400.002.05")
    error(await served.post("/mpesa/b2c/v3/paymentrequest", [1, 2], token), 400, "400.002.05")
    error(await client.post("/mpesa/stkpush/v1/processrequest", json={}), 404, "404.001.04")
    bogus = "x" * 28
    error(await served.post("/mpesa/stkpushquery/v1/query", {}, bogus), 404, "404.001.03")
    error(await served.post("/mpesa/b2c/v3/paymentrequest", {}, bogus), 401, "401.002.01")
    error(await served.post("/mpesa/c2b/v1/registerurl", {}, bogus), 400, "400.003.01")
    error(await served.post("/pulltransactions/v1/query", {}, bogus), 401, "401.001")
    # An expired token is as good as none.
    digest = served.daraja.vault.verifier("token", token)
    app_id, _ = served.daraja.registry.tokens[digest]
    served.daraja.registry.tokens[digest] = (app_id, served.daraja.now() - 1)
    error(await served.post("/mpesa/stkpushquery/v1/query", {}, token), 404, "404.001.03")
    error(await client.get("/oauth/v1/generate?grant_type=client_credentials"), 400, "400.008.01")
    wrong = await client.get(
        "/oauth/v1/generate", params={"grant_type": "password"}, auth=("a", "b")
    )
    error(wrong, 400, "400.008.02")
    native = await client.post("/api/v1/no-such-product", json={})
    assert native.status_code == 404 and native.json()["ok"] is False


async def test_clients_quirks_are_accepted(served: Served, listener: Listener) -> None:
    """Ints or strings, nulls, unknown keys, an old timestamp: all fine; 1.5 KES is not."""
    token = await served.token()
    quirky = stk_body(
        listener,
        "/http/quirks",
        "3.00",
        # Years of clock skew: the password is checked against the body's own timestamp.
        stamp="20190101000000",
        BusinessShortCode=174379,
        PartyA=int(TEST_MSISDN),
        PhoneNumber=int(TEST_MSISDN),
        TransactionDesc=None,
        Passkey="leaked by an SDK",
    )
    answer = await served.post("/mpesa/stkpush/v1/processrequest", quirky, token)
    assert answer.status_code == 200 and answer.json()["ResponseCode"] == "0"
    (callback,) = await arrived(listener, "/http/quirks")
    assert callback["Body"]["stkCallback"]["ResultCode"] == 0
    half = stk_body(listener, "/http/half", 1.5)
    error(await served.post("/mpesa/stkpush/v1/processrequest", half, token), 400, "400.002.02")
    assert (
        "Invalid Amount"
        in (await served.post("/mpesa/stkpush/v1/processrequest", half, token)).text
    )
    wrong = stk_body(listener, "/http/wrong", 5, Password="d3Jvbmc=")
    error(await served.post("/mpesa/stkpush/v1/processrequest", wrong, token), 500, "500.001.1001")
    b2b = {
        "Initiator": INITIATOR,
        "SecurityCredential": "x",
        "CommandID": "BusinessPayBill",
        "SenderIdentifierType": 4,
        "ReceiverIdentifierType": "4",
        "Amount": "10",
        "PartyA": "0600000",
        "PartyB": 174379,
        "AccountReference": "A1",
        "Requester": None,
        "Remarks": "ok",
        "Occasion": None,
        **result_urls(listener, "/http/b2b"),
    }
    answer = await served.post("/mpesa/b2b/v1/paymentrequest", b2b, token)
    assert answer.status_code == 200, answer.text
    (result,) = await arrived(listener, "/http/b2b")
    assert result["Result"]["ResultCode"] == "0"


async def test_stk_outcomes_come_from_what_happened(served: Served, listener: Listener) -> None:
    """Pending, then cancelled on the handset; unreachable; too little money; too long a prompt."""
    token = await served.token()
    pending = await served.post(
        "/mpesa/stkpush/v1/processrequest", stk_body(listener, "/http/p", 7), token
    )
    assert pending.status_code == 200, pending.text
    checkout = pending.json()["CheckoutRequestID"]
    waiting = await served.post("/mpesa/stkpushquery/v1/query", query_body(checkout), token)
    error(waiting, 500, "500.001.1001")
    assert waiting.json()["requestId"] == checkout
    handset = served.handset(TEST_MSISDN)
    shown = await served.client.get(f"/api/v1/stk/{TEST_MSISDN}/pending", headers=handset)
    assert [p["checkout_id"] for p in shown.json()["prompts"]] == [checkout]
    cancelled = await served.client.post(
        f"/api/v1/stk/{checkout}/answer", json={"cancel": True}, headers=handset
    )
    assert cancelled.json()["data"]["ResultCode"] == "1032"
    (callback,) = await arrived(listener, "/http/p")
    assert callback["Body"]["stkCallback"]["ResultCode"] == 1032
    final = await served.post("/mpesa/stkpushquery/v1/query", query_body(checkout), token)
    assert final.json()["ResultCode"] == "1032"

    before = await served.balance()
    for path, amount, code, extra in (
        ("/http/unreachable", 1037, 1037, {}),
        ("/http/poor", 120_000, 1, {}),
        ("/http/long", 5, 1025, {"AccountReference": "X" * 200}),
    ):
        body = stk_body(listener, path, amount, **extra)
        answer = await served.post("/mpesa/stkpush/v1/processrequest", body, token)
        assert answer.status_code == 200, answer.text
        (callback,) = await arrived(listener, path)
        assert callback["Body"]["stkCallback"]["ResultCode"] == code
        assert "CallbackMetadata" not in callback["Body"]["stkCallback"]
    assert await served.balance() == before
    unknown = await served.post("/mpesa/stkpushquery/v1/query", query_body("ws_CO_0"), token)
    error(unknown, 400, "400.002.02")


async def test_a_paid_prompt_completes_in_the_payments_own_commit(
    served: Served, listener: Listener
) -> None:
    """The prompt row carries the payment's receipt and commit time, so the query and the
    ledger can never disagree, whenever the platform stops."""
    token = await served.token()
    before = await served.balance()
    answer = await served.post(
        "/mpesa/stkpush/v1/processrequest", stk_body(listener, "/http/paid", 9), token
    )
    assert answer.status_code == 200, answer.text
    checkout = answer.json()["CheckoutRequestID"]
    (callback,) = await arrived(listener, "/http/paid")
    assert callback["Body"]["stkCallback"]["ResultCode"] == 0
    assert await served.balance() == before - 900
    store = served.platform.services.store
    ((state, code, receipt, updated),) = await asyncio.to_thread(
        store.query,
        "SELECT state, result_code, receipt, updated FROM daraja_prompts WHERE checkout_id = ?",
        (checkout,),
    )
    ((paid, completed),) = await asyncio.to_thread(
        store.query,
        "SELECT receipt, completed FROM receipts WHERE request_id LIKE ?",
        (f"stk:%:{checkout}",),
    )
    assert (state, code, receipt, updated) == ("completed", "0", paid, completed)
    metadata = callback["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    assert {"Name": "MpesaReceiptNumber", "Value": paid} in metadata
    final = await served.post("/mpesa/stkpushquery/v1/query", query_body(checkout), token)
    assert final.json()["ResultCode"] == "0"


async def test_a_slow_result_calls_the_queue_timeout_url_then_reports(
    served: Served, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No result within daraja_queue_timeout_s: QueueTimeOutURL is told; the result still comes."""
    products = served.platform.processor.products
    real = products["account_balance"]

    class Slow:
        name = "account_balance"
        # What the real product proves of its caller (the processor checks it).
        proof = getattr(real, "proof", None)

        async def run(self, ctx: Context) -> Response:
            await asyncio.sleep(0.6)
            answer = await real.run(ctx)
            assert isinstance(answer, Response)
            return answer

    monkeypatch.setitem(products, "account_balance", Slow())
    monkeypatch.setattr(served.platform.settings, "daraja_queue_timeout_s", 0.2)
    body = {
        "Initiator": INITIATOR,
        "SecurityCredential": "x",
        "CommandID": "AccountBalance",
        "PartyA": "600000",
        "IdentifierType": "4",
        "Remarks": "slow",
        **result_urls(listener, "/http/slow"),
    }
    answer = await served.post("/mpesa/accountbalance/v1/query", body)
    assert answer.status_code == 200
    (timeout,) = await arrived(listener, "/http/slow/timeout")
    assert timeout["Result"]["ResultType"] == 1
    assert timeout["Result"]["ConversationID"] == answer.json()["ConversationID"]
    (result,) = await arrived(listener, "/http/slow")
    assert result["Result"]["ResultCode"] == "0"


async def test_one_attempt_when_configured_like_daraja(
    served: Served, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """daraja_callback_attempts=1: a receiver that fails once loses the callback, as on Daraja."""
    monkeypatch.setattr(served.daraja.gateway, "attempts_max", 1)
    listener.script("/http/once", Reply(status=503))
    answer = await served.post(
        "/mpesa/stkpush/v1/processrequest", stk_body(listener, "/http/once", 4)
    )
    await arrived(listener, "/http/once")
    checkout = answer.json()["CheckoutRequestID"]
    for _ in range(100):
        rows = await asyncio.to_thread(
            served.daraja.tables.query,
            "SELECT state, attempts, id FROM outbox"
            " WHERE request_id LIKE ? AND channel = 'callback'",
            (f"%{checkout}",),
        )
        if rows and rows[0][0] == "failed":
            break
        await asyncio.sleep(0.02)
    assert [(str(state), int(attempts)) for state, attempts, _ in rows] == [("failed", 1)]
    # The app's delivery log is committed with the outbox's record: never behind it.
    log = await asyncio.to_thread(
        served.daraja.tables.query,
        "SELECT attempt, status, outcome FROM daraja_deliveries WHERE outbox_id = ?",
        (rows[0][2],),
    )
    assert [(int(attempt), int(status), str(outcome)) for attempt, status, outcome in log] == [
        (1, 503, "failed")
    ]
    await asyncio.sleep(0.3)
    assert len(listener.bodies("/http/once")) == 1


async def test_openapi_describes_the_whole_surface(served: Served) -> None:
    """Every Daraja route with its body, answers and security; the handset routes too."""
    document = (await served.client.get("/openapi.json")).json()
    for spec in ROUTES:
        for method in spec.methods:
            operation = document["paths"][spec.path][method.lower()]
            assert operation["security"], spec.path
            assert {"200", "400", "404", "500"} <= set(operation["responses"]), spec.path
            if method == "POST" and spec.body is not None:
                schema = operation["requestBody"]["content"]["application/json"]["schema"]
                assert set(schema["required"]) <= set(schema["properties"]), spec.path
    assert {"DarajaBearer", "DarajaBasic"} <= set(document["components"]["securitySchemes"])
    assert "/api/v1/stk/{checkout_id}/answer" in document["paths"]
    assert "/api/v1/balance" in document["paths"]


async def test_a_business_moves_its_own_float(served: Served, listener: Listener) -> None:
    """WORKING to UTILITY and back, free: the two accounts Daraja's balance shows."""

    async def accounts() -> dict[str, str]:
        body = {
            "Initiator": INITIATOR,
            "SecurityCredential": "x",
            "CommandID": "AccountBalance",
            "PartyA": "600979",
            "Remarks": "float",
            **result_urls(listener, f"/http/float/{len(listener.received)}"),
        }
        path = body["ResultURL"].split(listener.base, 1)[1]
        assert (await served.post("/mpesa/accountbalance/v1/query", body)).status_code == 200
        (result,) = await arrived(listener, path)
        (balance, _) = result["Result"]["ResultParameters"]["ResultParameter"]
        return {item.split("|")[0]: item.split("|")[3] for item in balance["Value"].split("&")}

    before = await accounts()
    for command, amount in (
        ("BusinessTransferFromMMFToUtility", 1000),
        ("BusinessTransferFromUtilityToMMF", 250),
    ):
        body = {
            "Initiator": INITIATOR,
            "SecurityCredential": "x",
            "CommandID": command,
            "Amount": amount,
            "PartyA": "600979",
            "PartyB": "600979",
            "Remarks": "float",
            **result_urls(listener, f"/http/move/{command}"),
        }
        assert (await served.post("/mpesa/b2b/v1/paymentrequest", body)).status_code == 200
        (result,) = await arrived(listener, f"/http/move/{command}")
        assert result["Result"]["ResultCode"] == "0"
    after = await accounts()
    # Amounts are "1234.56": minor units without the point.
    moved = {
        name: int(after[name].replace(".", "")) - int(before[name].replace(".", ""))
        for name in before
    }
    assert moved["Working Account"] == -75_000
    assert moved["Utility Account"] == 75_000
