"""A front while its core is down: it says it is not ready, Daraja waits and answers busy,
and what a customer does meanwhile is neither lost nor made up.

A core and a front on one store and a NATS prefix of their own; the core is stopped
and started again by the test. Requests time out after 6 s here (30 s by default).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.channels.serving import Served, serve
from tests.compat.listener import Listener
from tests.compat.support import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    SETTINGS,
    TEST_MSISDN,
    reconcile,
    stk_push,
    token,
)

WAITING = 77
CORE_DOWN_SETTINGS = {
    **SETTINGS,
    "daraja_auto_rules": f"{WAITING}=ignore",
    "request_timeout_s": "6",
}


@contextlib.contextmanager
def core(folder: Path, bus: str) -> Iterator[Served]:
    with serve(folder, "core.log", bus=bus, role="core", **CORE_DOWN_SETTINGS) as served:
        yield served


def ready(front: Served) -> httpx.Response:
    return httpx.get(f"{front.url}/health/ready", timeout=10)


def wait_ready(front: Served, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while ready(front).status_code != 200:
        assert time.monotonic() < deadline, ready(front).text
        time.sleep(0.2)


def test_without_a_core_a_front_is_not_ready_and_daraja_answers_busy(
    tmp_path: Path, bus_url: str, listener: Listener
) -> None:
    with (
        core(tmp_path, bus_url),
        serve(tmp_path, "front.log", bus=bus_url, role="front", **CORE_DOWN_SETTINGS) as front,
    ):
        wait_ready(front)
        opened = stk_push(
            front.url, token(front.url), TEST_MSISDN, WAITING, listener.url("/down/p")
        )
        assert opened.status_code == 200, opened.text
        checkout = opened.json()["CheckoutRequestID"]
    # (the front stopped with the core; start it again alone)
    with serve(
        tmp_path,
        "front2.log",
        until="/health/live",
        bus=bus_url,
        role="front",
        **CORE_DOWN_SETTINGS,
    ) as front:
        answer = ready(front)
        assert answer.status_code == 503
        assert any("no core" in reason for reason in answer.json()["reasons"]), answer.text
        assert httpx.get(f"{front.url}/health/live").json() == {"live": True}
        # Daraja waits for a core up to the deadline, then answers its own busy code.
        started = time.monotonic()
        busy = httpx.get(
            f"{front.url}/oauth/v1/generate",
            params={"grant_type": "client_credentials"},
            auth=(CONSUMER_KEY, CONSUMER_SECRET),
            timeout=30,
        )
        waited_s = time.monotonic() - started
        assert (busy.status_code, busy.json()["errorCode"]) == (500, "500.003.02"), busy.text
        assert 5.5 < waited_s < 15, waited_s
        # The customer cancels while no core runs: told it is busy. The cancel stands (a
        # core may still hold the ask): the front sends it again until a core answers.
        cancel = httpx.post(
            f"{front.url}/api/v1/stk/{checkout}/answer",
            json={"cancel": True},
            headers=front.handset(TEST_MSISDN),
            timeout=30,
        )
        assert cancel.status_code == 503, cancel.text
        ((state,),) = front.rows(
            "SELECT state FROM daraja_prompts WHERE checkout_id = ?", (checkout,)
        )
        assert state == "pending"
        with core(tmp_path, bus_url) as served:
            wait_ready(front)
            # With a core, the business hears 1032, once, not a made-up 1037.
            (callback,) = listener.wait("/down/p")
            assert callback["Body"]["stkCallback"]["ResultCode"] == 1032
            # The customer cancels again: told it is cancelled already.
            again = httpx.post(
                f"{front.url}/api/v1/stk/{checkout}/answer",
                json={"cancel": True},
                headers=front.handset(TEST_MSISDN),
                timeout=30,
            )
            assert again.status_code == 409, again.text
            assert again.json()["data"]["ResultCode"] == "1032", again.text
            ((state, code),) = front.rows(
                "SELECT state, result_code FROM daraja_prompts WHERE checkout_id = ?", (checkout,)
            )
            assert (state, code) == ("failed", "1032")
            assert len(listener.bodies("/down/p")) == 1
            db = served.db
    checked = reconcile(db)
    assert checked.returncode == 0, checked.stdout + checked.stderr
