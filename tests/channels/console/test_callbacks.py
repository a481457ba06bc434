"""The callback delivery log in the console, and a replay that really delivers again.

Method: a platform with the Daraja sandbox (each store), callbacks going to a real
loopback receiver. A business's receiver fails an STK callback (500), and with one
attempt allowed it fails for good; operations finds it in the console's log (its
shortcode, the receiver's host and never its query, the status and error), reads its
body masked, and sends it again: the receiver gets the same body, the log says
delivered, and the customer's money did not move a second time. Other roles are held
to the policy, and every replay is in the audit trail.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.channels.console.staff import Member, sign_in
from tests.channels.daraja.harness import (
    STK_SHORTCODE,
    TEST_MSISDN,
    Served,
    arrived,
    running,
    stk_body,
)
from tests.compat.listener import Listener, Reply

pytestmark = pytest.mark.anyio
SECRET = "s3cr3t-t0ken"
PATH = f"/business/stk?token={SECRET}"
# How long a callback may take to go out and be recorded on a busy machine.
WAIT_S = 30.0


@pytest.fixture(scope="module")
async def served(
    module_store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    folder = tmp_path_factory.mktemp("console-callbacks")
    async with running(module_store_url, folder, daraja_callback_attempts=1) as it:
        yield it


@pytest.fixture
def listener() -> Iterator[Listener]:
    """The businesses' callback receiver, fresh for each test."""
    running_listener = Listener()
    try:
        yield running_listener
    finally:
        running_listener.close()


async def until(member: Member, callback_id: int, state: str) -> dict[str, Any]:
    """The callback once it reaches ``state`` (the sender records it a moment later)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        found = await member.get(f"/callbacks/{callback_id}")
        assert found.status_code == 200, found.text
        if found.json()["state"] == state:
            return dict(found.json())
        assert time.monotonic() < deadline, f"callback {callback_id} not {state}: {found.json()}"
        await asyncio.sleep(0.05)


async def test_a_failed_callback_is_listed_and_replayed_to_the_receiver(
    served: Served, listener: Listener
) -> None:
    listener.script(PATH, Reply(status=500, body={"error": "down for maintenance"}))
    ops = await sign_in(served.platform, "operations")
    pushed = await served.post("/mpesa/stkpush/v1/processrequest", stk_body(listener, PATH, 7))
    assert pushed.status_code == 200, pushed.text
    checkout = pushed.json()["CheckoutRequestID"]
    (first,) = await arrived(listener, PATH, timeout_s=WAIT_S)
    assert first["Body"]["stkCallback"]["CheckoutRequestID"] == checkout
    listed = await ops.get("/callbacks", shortcode=STK_SHORTCODE)
    assert listed.status_code == 200, listed.text
    assert SECRET not in listed.text and "/business" not in listed.text
    (row,) = [r for r in listed.json() if r["kind"] == "daraja.stk_callback"][:1]
    found = await until(ops, row["id"], "failed")
    host = listener.base.removeprefix("http://")
    assert (found["shortcode"], found["host"], found["attempts"]) == (STK_SHORTCODE, host, 1)
    assert found["status"] == 500 and "maintenance" in found["error"]
    # Operations may not see personal data: the customer's number is masked in the body.
    assert found["body_masked"] is True and checkout in found["body"]
    assert TEST_MSISDN not in found["body"] and SECRET not in found["body"]
    failed = await ops.get("/callbacks", state="failed", shortcode=STK_SHORTCODE)
    assert row["id"] in [r["id"] for r in failed.json()]
    assert all(r["state"] == "failed" for r in failed.json())
    assert (await ops.get("/callbacks", shortcode="999999")).json() == []

    balance = await served.balance()
    no_token = await ops.post(f"/callbacks/{row['id']}/replay", csrf=False)
    assert no_token.status_code == 403
    replayed = await ops.post(f"/callbacks/{row['id']}/replay")
    assert replayed.status_code == 202, replayed.text
    first_again, second = await arrived(listener, PATH, count=2, timeout_s=WAIT_S)
    assert second == first_again == first
    again = await until(ops, row["id"], "delivered")
    assert again["attempts"] == 1 and again["status"] == 200 and again["error"] == ""
    assert await served.balance() == balance  # only the message went again

    # The auditor reads the body unmasked and may not replay; care has no part in it.
    auditor = await sign_in(served.platform, "auditor")
    seen = (await auditor.get(f"/callbacks/{row['id']}")).json()
    assert seen["body_masked"] is False and TEST_MSISDN in seen["body"]
    assert SECRET not in seen["body"]
    assert (await auditor.post(f"/callbacks/{row['id']}/replay")).status_code == 403
    care = await sign_in(served.platform, "care_l1")
    assert (await care.get("/callbacks")).status_code == 403
    assert (await ops.post("/callbacks/12345/replay")).status_code == 404
    trail = (await auditor.get("/audit", action="callbacks.replay")).json()
    outcomes = {(e["actor"], e["outcome"], e["entity"]) for e in trail}
    assert (ops.username, "ok", f"callback:{row['id']}") in outcomes
    assert (auditor.username, "refused", f"callback:{row['id']}") in outcomes


async def test_the_pages_list_and_replay(served: Served, listener: Listener) -> None:
    path = "/business/page"
    listener.script(path, Reply(status=503, body={}))
    pushed = await served.post("/mpesa/stkpush/v1/processrequest", stk_body(listener, path, 9))
    assert pushed.status_code == 200, pushed.text
    await arrived(listener, path, timeout_s=WAIT_S)
    ops = await sign_in(served.platform, "operations")
    ids = [r["id"] for r in (await ops.get("/callbacks")).json()]
    await until(ops, ids[0], "failed")
    page = await ops.client.get("/staff/callbacks", params={"state": "failed"})
    assert page.status_code == 200 and "Send again" in page.text
    assert f'href="/staff/callbacks/{ids[0]}"' in page.text
    assert "/business/page" not in page.text
    one = await ops.client.get(f"/staff/callbacks/{ids[0]}")
    assert one.status_code == 200 and "personal data masked" in one.text
    sent = await ops.client.post(
        f"/staff/ui/callbacks/{ids[0]}/replay",
        headers={"X-CSRF-Token": ops.csrf, "HX-Request": "true"},
    )
    assert sent.status_code == 204 and sent.headers["HX-Redirect"] == f"/staff/callbacks/{ids[0]}"
    sysadmin = await sign_in(served.platform, "sysadmin")
    viewed = await sysadmin.client.get("/staff/callbacks")
    assert viewed.status_code == 200 and "Send again" not in viewed.text
