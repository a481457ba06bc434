"""An approved STK payment commits once by default, and twice when a profile sets a deadline.

The profiles keep no STK delivery deadline: the prompt is answered in the
channel and the result goes by callback, with retries, as on Daraja. An
operator may set one (``deadlines_s.stk``): the payment is then held pending
until the channel acknowledges the answer, and posted. Either way the business
gets one success callback, the customer pays once and ``mkoba reconcile``
finds the books balanced.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mkoba.processor.request import Channel, Request, Response
from tests.channels.daraja.harness import Served, arrived, running, stk_body
from tests.compat.listener import Listener
from tests.compat.support import reconcile
from tests.conftest import POSTGRES_URL
from tests.processor.world import fast_profile, ledger_legs, request_state

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module", params=["none", "held"])
async def served(
    request: pytest.FixtureRequest, module_store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, Served]]:
    """The sandbox on the Kenya profile as shipped, then with a 30 s STK deadline."""
    folder = tmp_path_factory.mktemp("stk-deadline")
    held = request.param == "held"
    profile = fast_profile(folder, 30) if held else "kenya"
    # Both platforms use this module's store kind, each its own store.
    url = module_store_url
    if held:
        url = (
            f"{module_store_url}_held"
            if module_store_url.startswith("postgresql")
            else str(folder / "h.db")
        )
    try:
        async with running(url, folder, profile=str(profile)) as it:
            yield request.param, it
        checked = reconcile(url)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        if held and url.startswith("postgresql"):
            import psycopg

            with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA IF EXISTS {url.rsplit('=', 1)[1]} CASCADE")


async def test_an_approved_push_pays_once_with_one_callback(
    served: tuple[str, Served], listener: Listener
) -> None:
    deadline, it = served
    before = await it.balance()
    answer = await it.post("/mpesa/stkpush/v1/processrequest", stk_body(listener, "/stk/once", 25))
    assert answer.status_code == 200, answer.text
    checkout = answer.json()["CheckoutRequestID"]
    (callback,) = await arrived(listener, "/stk/once")
    stk = callback["Body"]["stkCallback"]
    assert (stk["CheckoutRequestID"], stk["ResultCode"]) == (checkout, 0)
    items = {item["Name"]: item.get("Value") for item in stk["CallbackMetadata"]["Item"]}
    assert items["Amount"] == 25
    assert await it.balance() == before - 25_00

    prompt = await it.daraja.prompts.find(checkout)
    assert prompt is not None
    number, status, code, receipt = await request_state(it.platform, prompt.request_id)
    assert (status, code, receipt) == ("completed", "ok", "completed")
    legs = await ledger_legs(it.platform, number)
    if deadline == "none":
        assert set(legs) == {"direct"}, legs
    else:
        assert set(legs) == {"pending", "post"} and legs["pending"] == legs["post"], legs


async def test_the_customer_is_free_before_the_callback_can_leave(
    served: tuple[str, Served], listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that pushes again on the callback must not meet 'Unable to lock subscriber'.

    The payment's commit queues the callback; from then on the outbox may send it at
    any moment, so the customer's lock must already be gone when that commit returns.
    """
    _deadline, it = served
    bus = it.platform.bus
    real = bus.request
    locked_after_commit: list[bool] = []

    async def request(request: Request, timeout_s: float) -> Response:
        response = await real(request, timeout_s)
        if request.channel == Channel.STK:
            locked_after_commit.append(it.daraja.prompts.locked(request.msisdn))
        return response

    monkeypatch.setattr(bus, "request", request)
    answer = await it.post("/mpesa/stkpush/v1/processrequest", stk_body(listener, "/stk/free", 3))
    assert answer.status_code == 200, answer.text
    (callback,) = await arrived(listener, "/stk/free")
    assert callback["Body"]["stkCallback"]["ResultCode"] == 0
    assert locked_after_commit == [False]
