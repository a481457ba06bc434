"""The platform split in two processes on NATS: a Daraja front and a core (``--role``).

Two real ``mkoba serve`` processes share one store and a NATS JetStream bus of
their own: the core runs TranProc, the ledger writer and the outbox; the front
serves the Daraja and native APIs and has the core commit its rows. Everything
is checked from outside, through the front, as a developer's SDK would see it,
and the books must reconcile after both stop.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import NamedTuple

import httpx
import nats
import pytest

from mkoba.bus.rows import rows_bytes
from mkoba.ledger import Write
from mkoba.settings import SettingsError, load_settings
from tests.channels.serving import Served, serve
from tests.compat.app_phones import enrolled
from tests.compat.listener import Listener
from tests.compat.support import (
    PIN,
    SETTINGS,
    STK_SHORTCODE,
    TEST_MSISDN,
    business_balances,
    customer_balance,
    funded_customer,
    reconcile,
    stk_password,
    stk_push,
    token,
)
from tests.conftest import NATS_URL, drop_stream, require_nats


class Split(NamedTuple):
    core: Served
    front: Served
    bus: str


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Split]:
    """A core, then a front, on one store and one bus; reconciled and dropped afterwards."""
    require_nats()
    folder = tmp_path_factory.mktemp("split")
    bus = f"{NATS_URL}/test-split-{uuid.uuid4().hex[:8]}"
    try:
        with (
            serve(folder, "core.log", bus=bus, role="core", **SETTINGS) as core,
            serve(folder, "front.log", bus=bus, role="front", **SETTINGS) as front,
        ):
            yield Split(core, front, bus)
        checked = reconcile(core.db)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        drop_stream(bus)


def _push(url: str, amount: int, callback: str) -> httpx.Response:
    return stk_push(url, token(url), TEST_MSISDN, amount, callback, "SPLIT")


def test_each_process_says_what_it_is(split: Split) -> None:
    front = httpx.get(f"{split.front.url}/health").json()
    core = httpx.get(f"{split.core.url}/health").json()
    assert (front["role"], core["role"]) == ("front", "core")
    # Daraja is the front's: the core does not serve it.
    assert httpx.get(f"{split.core.url}/oauth/v1/generate").status_code == 404


def test_an_stk_push_through_the_front_pays_and_calls_back(
    split: Split, listener: Listener
) -> None:
    """Prompt, payment and callback cross the bus; the query and the books agree."""
    before = customer_balance(split.front.url)
    answer = _push(split.front.url, 37, listener.url("/split/stk"))
    assert answer.status_code == 200, answer.text
    checkout = answer.json()["CheckoutRequestID"]
    (callback,) = listener.wait("/split/stk")
    stk = callback["Body"]["stkCallback"]
    assert (stk["ResultCode"], stk["CheckoutRequestID"]) == (0, checkout)
    assert stk["MerchantRequestID"] == answer.json()["MerchantRequestID"]
    items = {i["Name"]: i.get("Value") for i in stk["CallbackMetadata"]["Item"]}
    assert (items["Amount"], items["PhoneNumber"]) == (37, int(TEST_MSISDN))
    assert customer_balance(split.front.url) == before - 3700
    password, stamp = stk_password()
    query = httpx.post(
        f"{split.front.url}/mpesa/stkpushquery/v1/query",
        json={
            "BusinessShortCode": STK_SHORTCODE,
            "Password": password,
            "Timestamp": stamp,
            "CheckoutRequestID": checkout,
        },
        headers={"Authorization": f"Bearer {token(split.front.url)}"},
    )
    assert query.status_code == 200, query.text
    assert query.json()["ResultCode"] == "0"
    # The front's rows were committed by the core's writer, in the one store.
    ((state, receipt),) = split.core.rows(
        "SELECT state, receipt FROM daraja_prompts WHERE checkout_id = ?", (checkout,)
    )
    assert (state, receipt) == ("completed", items["MpesaReceiptNumber"])


def test_a_cancelled_prompt_calls_back_from_the_core(split: Split, listener: Listener) -> None:
    """A failure callback is a row the front writes and the core sends (sandbox rule 1032)."""
    before = customer_balance(split.front.url)
    answer = _push(split.front.url, 1032, listener.url("/split/cancel"))
    assert answer.status_code == 200, answer.text
    (callback,) = listener.wait("/split/cancel")
    assert callback["Body"]["stkCallback"]["ResultCode"] == 1032
    assert customer_balance(split.front.url) == before


def test_a_business_balance_is_read_from_the_core(split: Split, listener: Listener) -> None:
    """The front asks the core's writer for balances; an STK payment shows in them."""
    first = business_balances(split.front.url, listener, STK_SHORTCODE)
    answer = _push(split.front.url, 11, listener.url("/split/bal"))
    assert answer.status_code == 200, answer.text
    listener.wait("/split/bal")
    second = business_balances(split.front.url, listener, STK_SHORTCODE)
    (name,) = [n for n in first if first[n] != second[n]]
    assert second[name][0] > first[name][0]


@pytest.mark.parametrize(
    "write",
    [
        Write("ledger_transfers", ("id", "amount"), (1, 10**9)),
        Write("requests", ("id",), ("x",)),
        # An SMS is the processor's to queue, not a front's.
        Write(
            "outbox",
            ("id", "channel", "state"),
            (1 << 61, "sms", "queued"),
        ),
        # A callback row in the processor's id range.
        Write("outbox", ("id", "channel", "state"), (5, "callback", "queued")),
    ],
)
def test_the_core_refuses_rows_that_are_not_a_front_channels(split: Split, write: Write) -> None:
    async def send() -> bytes:
        client = await nats.connect(NATS_URL)
        try:
            prefix = split.bus.rsplit("/", 1)[1]
            answer = await client.request(f"{prefix}.rows", rows_bytes([write], False), timeout=5)
            return bytes(answer.data)
        finally:
            await client.close()

    assert asyncio.run(send()).startswith(b"refused: ")
    assert not split.core.rows("SELECT 1 FROM ledger_transfers WHERE id = 1")


def test_a_front_or_core_needs_a_nats_bus() -> None:
    for role in ("front", "core"):
        with pytest.raises(SettingsError, match="needs a NATS bus"):
            load_settings(role=role, bus="memory")


def test_a_phone_on_the_front_enrols_and_pays_through_the_cores_validation_server(
    split: Split,
) -> None:
    """The app on the front; its enrolment code, bindings and payment codes are the core's."""
    taken = {TEST_MSISDN}
    payer = funded_customer(split.front.url, 1_000_00, taken)
    payee = funded_customer(split.front.url, 0, taken)

    async def run() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(base_url=split.front.url, timeout=30) as client:
            payee_app = await enrolled(client, split.core, payee)
            payer_app = await enrolled(client, split.core, payer)
            shown = await payee_app.call("POST", "/codes", {"amount": 150_00, "reference": "S1"})
            assert shown.status_code == 201, shown.text
            payload = shown.json()["payload"]
            paid = await payer_app.call("POST", "/pay", {"payload": payload, "pin": PIN})
            again = await payer_app.call("POST", "/pay", {"payload": payload, "pin": PIN})
            # A replayed signed request is refused by the one validation server too.
            replayed = await payer_app.call("POST", "/balance", {}, counter=payer_app.counter)
            assert replayed.status_code == 401, replayed.text
            assert replayed.json()["error"]["code"] == "counter_replayed", replayed.text
            return paid, again

    before = customer_balance(split.front.url, payee)
    paid, again = asyncio.run(run())
    assert paid.status_code == 200, paid.text
    assert again.status_code == 409 and again.json()["error"]["code"] == "qr_paid", again.text
    assert customer_balance(split.front.url, payee) == before + 150_00
    # The bindings are rows of the one store, written by the core.
    devices = split.core.rows("SELECT msisdn FROM app_devices WHERE state = 'active'")
    assert {payer, payee} <= {str(msisdn) for (msisdn,) in devices}
