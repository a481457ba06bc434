"""Idempotency and conservation through the HTTP surface: nothing moves twice, nothing is lost.

- the same B2C request sent again is the same conversation (one payment, one result);
- concurrent pushes to one customer: one prompt, the rest refused, the money once;
- two answers racing on one prompt: one payment;
- a callback receiver that fails, then times out, then recovers gets the result,
  every attempt is in the delivery log, and a replay sends it again without
  moving money;
- a prompt open when the server stops is still there after the restart;
- the books reconcile after all of it (the suite's server, and the restarted one).
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.channels.serving import Served, serve
from tests.compat.listener import Listener, Reply
from tests.compat.support import (
    INITIATOR,
    PIN,
    SETTINGS,
    TEST_MSISDN,
    customer_balance,
    funded_customer,
    reconcile,
    stk_push,
    token,
)

# Demo customers (the sandbox does not answer for them: prompts wait for the handset).
_taken: set[str] = set()


def _b2c(
    url: str, bearer: str, originator: str, amount: int, listener: Listener, path: str
) -> httpx.Response:
    body = {
        "OriginatorConversationID": originator,
        "InitiatorName": INITIATOR,
        "SecurityCredential": "x",
        "CommandID": "BusinessPayment",
        "Amount": amount,
        "PartyA": "600638",
        "PartyB": TEST_MSISDN,
        "Remarks": "reliability",
        "QueueTimeOutURL": listener.url(path + "/timeout"),
        "ResultURL": listener.url(path),
    }
    headers = {"Authorization": f"Bearer {bearer}"}
    return httpx.post(f"{url}/mpesa/b2c/v3/paymentrequest", json=body, headers=headers)


def test_the_same_b2c_twice_pays_once(server: Served, listener: Listener) -> None:
    """A replay gets the first acknowledgement back; a different body under the id is refused."""
    bearer = token(server.url)
    before = customer_balance(server.url)
    first = _b2c(server.url, bearer, "rel-dup-1", 40, listener, "/rel/dup")
    again = _b2c(server.url, bearer, "rel-dup-1", 40, listener, "/rel/dup")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    other = _b2c(server.url, bearer, "rel-dup-1", 41, listener, "/rel/dup")
    assert (other.status_code, other.json()["errorCode"]) == (500, "500.002.1001")
    listener.wait("/rel/dup")
    time.sleep(0.5)
    assert len(listener.bodies("/rel/dup")) == 1
    assert customer_balance(server.url) == before + 4000


def test_concurrent_pushes_to_one_customer_pay_once(server: Served, listener: Listener) -> None:
    """Five pushes at once: one prompt; two answers at once: one payment."""
    bearer = token(server.url)
    handset = funded_customer(server.url, 10_000, _taken)
    before = customer_balance(server.url, handset)
    with ThreadPoolExecutor(5) as pool:
        answers = list(
            pool.map(
                lambda n: stk_push(server.url, bearer, handset, 60, listener.url(f"/rel/race/{n}")),
                range(5),
            )
        )
    accepted = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code != 200]
    assert len(accepted) == 1
    assert {(a.status_code, a.json()["errorCode"]) for a in refused} == {(500, "500.001.1001")}
    checkout = accepted[0].json()["CheckoutRequestID"]
    (index,) = [n for n, a in enumerate(answers) if a.status_code == 200]
    paired = server.handset(handset)
    shown = httpx.get(f"{server.url}/api/v1/stk/{handset}/pending", headers=paired)
    assert [p["checkout_id"] for p in shown.json()["prompts"]] == [checkout]
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(
                lambda _: httpx.post(
                    f"{server.url}/api/v1/stk/{checkout}/answer",
                    json={"pin": PIN},
                    headers=paired,
                ),
                range(2),
            )
        )
    assert sorted(r.status_code for r in results) == [200, 409]
    (callback,) = listener.wait(f"/rel/race/{index}")
    assert callback["Body"]["stkCallback"]["ResultCode"] == 0
    assert customer_balance(server.url, handset) == before - 6000


def test_a_failing_receiver_gets_the_result_when_it_recovers(
    server: Served, listener: Listener
) -> None:
    """500, then a timeout, then OK: three attempts logged, one payment; a replay resends."""
    path = "/rel/flaky"
    listener.script(path, Reply(status=500), Reply(delay_s=2.0))
    before = customer_balance(server.url)
    answer = _b2c(server.url, token(server.url), "rel-flaky-1", 25, listener, path)
    assert answer.status_code == 200
    bodies = listener.wait(path, count=3, timeout_s=20)
    assert bodies[0] == bodies[1] == bodies[2]
    assert customer_balance(server.url) == before + 2500
    conversation = answer.json()["ConversationID"]
    attempts = _log(server, conversation)
    assert [outcome for _, _, outcome in attempts][-3:] == ["retry", "retry", "delivered"]
    outbox_id = attempts[-1][0]
    replayed = _cli(server.db, "callbacks", "replay", "--id", str(outbox_id))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert len(listener.wait(path, count=4, timeout_s=10)) == 4
    assert customer_balance(server.url) == before + 2500


def _log(server: Served, conversation: str) -> list[tuple[int, int, str]]:
    rows = server.rows(
        "SELECT d.outbox_id, d.attempt, d.outcome FROM daraja_deliveries AS d"
        " JOIN outbox AS o ON o.id = d.outbox_id WHERE o.request_id LIKE ? AND d.kind = ?"
        " ORDER BY d.id",
        (f"%:{conversation}", "b2c.result"),
    )
    return [(int(a), int(b), str(c)) for a, b, c in rows]


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from mkoba.cli import main; main()", "daraja", *args]
    return subprocess.run(
        [*command, "--db", str(db)], capture_output=True, text=True, timeout=60, check=False
    )


def test_a_prompt_survives_a_restart(tmp_path: Path, listener: Listener) -> None:
    """Pushed, server stopped, started again: the prompt is still on the handset, and pays."""
    settings: dict[str, Any] = dict(SETTINGS)
    with serve(tmp_path, **settings) as first:
        bearer = token(first.url)
        handset = funded_customer(first.url, 10_000, set())
        pushed = stk_push(first.url, bearer, handset, 35, listener.url("/rel/restart"))
        assert pushed.status_code == 200
        before = customer_balance(first.url, handset)
    with serve(tmp_path, **settings) as second:
        checkout = pushed.json()["CheckoutRequestID"]
        # The same keys directory: the phone paired before the restart still is.
        paired = second.handset(handset)
        shown = httpx.get(f"{second.url}/api/v1/stk/{handset}/pending", headers=paired)
        assert [p["checkout_id"] for p in shown.json()["prompts"]] == [checkout]
        answered = httpx.post(
            f"{second.url}/api/v1/stk/{checkout}/answer", json={"pin": PIN}, headers=paired
        )
        assert answered.status_code == 200, answered.text
        (callback,) = listener.wait("/rel/restart")
        assert callback["Body"]["stkCallback"]["ResultCode"] == 0
        assert customer_balance(second.url, handset) == before - 3500
    checked = reconcile(tmp_path / "mkoba.db")
    assert checked.returncode == 0, checked.stdout
