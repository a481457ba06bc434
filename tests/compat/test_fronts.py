"""Many fronts on one core: each owns its prompts, none collides, a gone one's are finished.

Real ``mkoba serve`` processes on one store and a NATS prefix of their own: a core
and two fronts for the module, and a third front that a test kills. The sandbox
answers every STK push for the test number at once, except an amount of 77 shillings,
which waits for the handset, as a customer who has not answered yet.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any, NamedTuple

import httpx
import pytest

from tests.channels.app.phone import PREFIX
from tests.channels.serving import Served, serve
from tests.compat.app_phones import enrolled
from tests.compat.listener import Listener
from tests.compat.support import (
    PIN,
    SETTINGS,
    TEST_MSISDN,
    funded_customer,
    reconcile,
    stk_push,
    token,
)
from tests.conftest import NATS_URL, drop_stream, require_nats

WAITING = 77
FRONT_SETTINGS = {**SETTINGS, "daraja_auto_rules": f"1032=cancel,{WAITING}=ignore"}


class Fronts(NamedTuple):
    core: Served
    a: Served
    b: Served
    bus: str


@pytest.fixture(scope="module")
def fronts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fronts]:
    require_nats()
    folder = tmp_path_factory.mktemp("fronts")
    bus = f"{NATS_URL}/test-fronts-{uuid.uuid4().hex[:8]}"
    try:
        with (
            serve(folder, "core.log", bus=bus, role="core", **FRONT_SETTINGS) as core,
            serve(folder, "a.log", bus=bus, role="front", **FRONT_SETTINGS) as a,
            serve(folder, "b.log", bus=bus, role="front", **FRONT_SETTINGS) as b,
        ):
            yield Fronts(core, a, b, bus)
        checked = reconcile(core.db)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        drop_stream(bus)


def push(front: Served, amount: int, callback: str) -> httpx.Response:
    return stk_push(front.url, token(front.url), TEST_MSISDN, amount, callback, "FRONTS")


def answer(front: Served, checkout: str, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{front.url}/api/v1/stk/{checkout}/answer",
        json=body,
        headers=front.handset(TEST_MSISDN),
        timeout=30,
    )


def prompt_row(fronts: Fronts, checkout: str) -> tuple[str, str]:
    ((state, owner),) = fronts.core.rows(
        "SELECT state, owner FROM daraja_prompts WHERE checkout_id = ?", (checkout,)
    )
    return str(state), str(owner)


def test_two_fronts_queue_callbacks_without_colliding(fronts: Fronts, listener: Listener) -> None:
    """Both fronts write failure callbacks; the core numbers them, and every one arrives."""
    for turn in range(6):
        front = fronts.a if turn % 2 == 0 else fronts.b
        answered = push(front, 1032, listener.url(f"/fronts/cancel/{turn}"))
        assert answered.status_code == 200, answered.text
        (callback,) = listener.wait(f"/fronts/cancel/{turn}")
        assert callback["Body"]["stkCallback"]["ResultCode"] == 1032
    ids = [row[0] for row in fronts.core.rows("SELECT id FROM outbox WHERE channel = 'callback'")]
    assert len(ids) == len(set(ids)) >= 6
    for served in (fronts.core, fronts.a, fronts.b):
        assert httpx.get(f"{served.url}/health/ready").status_code == 200


def test_the_subscriber_is_locked_on_every_front_and_either_front_takes_the_answer(
    fronts: Fronts, listener: Listener
) -> None:
    opened = push(fronts.a, WAITING, listener.url("/fronts/locked"))
    assert opened.status_code == 200, opened.text
    checkout = opened.json()["CheckoutRequestID"]
    # Another front refuses a second prompt for the same customer, as one front does.
    second = push(fronts.b, 10, listener.url("/fronts/second"))
    assert second.status_code == 500
    assert second.json()["errorCode"] == "500.001.1001"
    # The handset asks the other front: it sees the prompt, and its answer reaches the owner.
    shown = httpx.get(
        f"{fronts.b.url}/api/v1/stk/{TEST_MSISDN}/pending",
        headers=fronts.b.handset(TEST_MSISDN),
    ).json()["prompts"]
    assert [p["checkout_id"] for p in shown] == [checkout]
    paid = answer(fronts.b, checkout, pin="1357")
    assert paid.status_code == 200, paid.text
    (callback,) = listener.wait("/fronts/locked")
    assert callback["Body"]["stkCallback"]["ResultCode"] == 0
    assert prompt_row(fronts, checkout)[0] == "completed"
    time.sleep(1.0)
    assert len(listener.bodies("/fronts/locked")) == 1


def test_a_killed_fronts_prompt_is_taken_over_and_paid_once(
    fronts: Fronts, listener: Listener
) -> None:
    """A new front leaves a live front's prompt alone; a dead front's is taken over."""
    folder = fronts.core.db.parent
    with serve(folder, "c.log", bus=fronts.bus, role="front", **FRONT_SETTINGS) as c:
        opened = push(c, WAITING, listener.url("/fronts/taken"))
        assert opened.status_code == 200, opened.text
        checkout = opened.json()["CheckoutRequestID"]
        state, owner = prompt_row(fronts, checkout)
        assert state == "pending" and owner.endswith(tuple("0123456789abcdef"))
        time.sleep(4.0)  # longer than a front's look for gone fronts: nobody takes it
        assert prompt_row(fronts, checkout) == (state, owner)
        os.kill(c.pid, signal.SIGKILL)
        killed = time.monotonic()
        deadline = killed + 20.0
        while prompt_row(fronts, checkout)[1] == owner:
            assert time.monotonic() < deadline, "no front took the prompt over"
            time.sleep(0.2)
        taken_s = time.monotonic() - killed
    new_state, new_owner = prompt_row(fronts, checkout)
    assert new_state == "pending" and new_owner != owner
    paid = answer(fronts.a, checkout, pin="1357")  # its new owner, or forwarded there
    assert paid.status_code == 200, paid.text
    (callback,) = listener.wait("/fronts/taken")
    assert callback["Body"]["stkCallback"]["ResultCode"] == 0
    time.sleep(1.0)
    assert len(listener.bodies("/fronts/taken")) == 1
    print(f"prompt taken over {taken_s:.1f} s after its front was killed")
    assert taken_s < 15.0


def test_a_front_with_other_keys_is_not_ready(
    fronts: Fronts, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Keys are copied to every machine: a front that made its own says so and takes nothing."""
    elsewhere = tmp_path_factory.mktemp("other-keys")
    with serve(
        fronts.core.db.parent,
        "stranger.log",
        until="/health/live",
        bus=fronts.bus,
        role="front",
        keys_dir=str(elsewhere),
        **FRONT_SETTINGS,
    ) as stranger:
        deadline = time.monotonic() + 10
        while True:
            answer = httpx.get(f"{stranger.url}/health/ready")
            reasons = answer.json()["reasons"]
            if any("keys differ" in reason for reason in reasons):
                break
            assert time.monotonic() < deadline, answer.text
            time.sleep(0.2)
        assert answer.status_code == 503
    assert "copy the core's keys directory" in stranger.log.read_text()


def test_a_payment_on_one_front_reaches_the_payees_stream_on_the_other(fronts: Fronts) -> None:
    """Live notices cross the bus: the payee's app listens on front b, the payer pays on a."""
    taken = {TEST_MSISDN}
    payer = funded_customer(fronts.a.url, 1_000_00, taken)
    payee = funded_customer(fronts.a.url, 0, taken)

    async def run() -> dict[str, Any]:
        async with (
            httpx.AsyncClient(base_url=fronts.a.url, timeout=30) as on_a,
            httpx.AsyncClient(base_url=fronts.b.url, timeout=30) as on_b,
        ):
            payee_app = await enrolled(on_b, fronts.core, payee)
            payer_app = await enrolled(on_a, fronts.core, payer)
            shown = await payee_app.call("POST", "/codes", {"amount": 40_00, "reference": "T1"})
            assert shown.status_code == 201, shown.text
            payee_app.counter += 1
            headers = payee_app.signed("POST", PREFIX + "/events", b"", payee_app.counter)
            async with on_b.stream("POST", PREFIX + "/events", headers=headers) as stream:
                lines = stream.aiter_lines()
                assert await anext(lines) == ": connected"
                payload = shown.json()["payload"]
                paid = await payer_app.call("POST", "/pay", {"payload": payload, "pin": PIN})
                assert paid.status_code == 200, paid.text
                async with asyncio.timeout(10):
                    async for line in lines:
                        if line.startswith("data: "):
                            return dict(json.loads(line.removeprefix("data: ")))
        raise AssertionError("the stream ended without a notice")

    notice = asyncio.run(run())
    assert (notice["direction"], notice["amount"], notice["reference"]) == ("in", 40_00, "T1")
    assert notice["receipt"]
