"""The app's validation server in a process of its own (``--role validator``), and its standby.

Real ``mkoba serve`` processes on one store and a NATS prefix of their own, all with
``app_validator=apart``: a core, a validator and a front. A phone enrols and pays on
the front; the validator's rows land in the store through the core's writer. A
second validator stands by while the first holds the lease; the first is killed
(SIGKILL, as a crash), and the second takes over within seconds with the state
loaded from the store: a replayed signed request is still refused, a new payment works.
Then that one is paused (SIGSTOP) until a third takes over: resumed, it answers
nothing and exits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import nats
import pytest

from mkoba.settings import SettingsError, load_settings
from mkoba.validator_role import exit_lease_lost
from tests.channels.app.phone import AppPhone
from tests.channels.serving import Served, serve
from tests.compat.app_phones import enrolled
from tests.compat.support import PIN, SETTINGS, TEST_MSISDN, customer_balance, funded_customer
from tests.conftest import NATS_URL, drop_stream, require_nats

APART = {**SETTINGS, "app_validator": "apart"}
# The lease lives 8 s unrenewed; the standby polls twice a second.
takeover_s_max = 15.0


async def pay(payee: AppPhone, payer: AppPhone, amount: int, reference: str) -> httpx.Response:
    shown = await payee.call("POST", "/codes", {"amount": amount, "reference": reference})
    assert shown.status_code == 201, shown.text
    return await payer.call("POST", "/pay", {"payload": shown.json()["payload"], "pin": PIN})


async def responders(bus: str) -> int:
    """How many validation servers answer one (malformed) call on the bus within a second."""
    client = await nats.connect(NATS_URL)
    try:
        inbox = client.new_inbox()
        answers = await client.subscribe(inbox)
        await client.publish(f"{bus.rsplit('/', 1)[1]}.validation", b"not a call", reply=inbox)
        await asyncio.sleep(1.0)
        return answers.pending_msgs
    finally:
        await client.close()


def health(served: Served) -> httpx.Response:
    return httpx.get(f"{served.url}/health", timeout=5)


def test_a_validator_apart_serves_the_app_and_its_standby_takes_over(tmp_path: Path) -> None:
    require_nats()
    bus = f"{NATS_URL}/test-validator-{uuid.uuid4().hex[:8]}"
    try:
        with (
            serve(tmp_path, "core.log", bus=bus, role="core", **APART) as core,
            serve(tmp_path, "validator.log", bus=bus, role="validator", **APART) as first,
            serve(tmp_path, "front.log", bus=bus, role="front", **APART) as front,
        ):
            asyncio.run(_run(tmp_path, bus, core, first, front))
    finally:
        drop_stream(bus)


async def _run(folder: Path, bus: str, core: Served, first: Served, front: Served) -> None:
    assert health(first).json()["role"] == "validator"
    # It serves no customer channel, and the core no longer hosts a validation server.
    assert httpx.get(f"{first.url}/app/").status_code == 404
    taken = {TEST_MSISDN}
    payer_number = funded_customer(front.url, 1_000_00, taken)
    payee_number = funded_customer(front.url, 0, taken)
    before = customer_balance(front.url, payee_number)
    async with httpx.AsyncClient(base_url=front.url, timeout=30) as client:
        payee = await enrolled(client, core, payee_number)
        payer = await enrolled(client, core, payer_number)
        paid = await pay(payee, payer, 150_00, "V1")
        assert paid.status_code == 200, paid.text
        assert customer_balance(front.url, payee_number) == before + 150_00
        # The validator's rows, committed by the core's writer in the one store.
        devices = core.rows("SELECT msisdn FROM app_devices WHERE state = 'active'")
        assert {payer_number, payee_number} <= {str(msisdn) for (msisdn,) in devices}
        assert core.rows("SELECT state FROM app_tokens") == [("paid",)]
        with serve(
            folder, "standby.log", until="/health/live", bus=bus, role="validator", **APART
        ) as second:
            standing = health(second)
            assert standing.status_code == 503
            assert standing.json()["status"] == "standby", standing.text
            assert "standing by" in second.log.read_text()
            # Only the holder answers: neither the standby nor the core serves it.
            assert await responders(bus) == 1
            os.kill(first.pid, signal.SIGKILL)
            started = time.monotonic()
            while health(second).status_code != 200:
                assert time.monotonic() - started < takeover_s_max, second.log.read_text()
                await asyncio.sleep(0.2)
            # The counters came from the store: the last signed request cannot be replayed.
            replayed = await payer.call("POST", "/balance", {}, counter=payer.counter)
            assert replayed.status_code == 401, replayed.text
            assert replayed.json()["error"]["code"] == "counter_replayed", replayed.text
            again = await pay(payee, payer, 20_00, "V2")
            assert again.status_code == 200, again.text
            assert customer_balance(front.url, payee_number) == before + 170_00
            await _a_paused_holder_resumes_to_nothing(folder, bus, second)


async def _a_paused_holder_resumes_to_nothing(folder: Path, bus: str, holder: Served) -> None:
    """A holder paused past its lease (SIGSTOP) answers nothing once resumed, and exits."""
    with serve(
        folder, "third.log", until="/health/live", bus=bus, role="validator", **APART
    ) as third:
        os.kill(holder.pid, signal.SIGSTOP)
        started = time.monotonic()
        while health(third).status_code != 200:
            assert time.monotonic() - started < takeover_s_max, third.log.read_text()
            await asyncio.sleep(0.2)
        os.kill(holder.pid, signal.SIGCONT)
        assert await responders(bus) == 1  # the third only: the resumed one knows it is stale
        status = _exit_status(holder.pid, within_s=10.0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == exit_lease_lost
        assert "this process stops" in holder.log.read_text()


def _exit_status(pid: int, within_s: float) -> int:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.1)
    raise AssertionError("the stale holder did not exit")


def test_the_validator_role_and_the_setting_go_together() -> None:
    with pytest.raises(SettingsError, match="needs a NATS bus"):
        load_settings(role="validator", bus="memory", app_validator="apart")
    with pytest.raises(SettingsError, match="needs MKOBA_APP_VALIDATOR=apart"):
        load_settings(role="validator", bus="nats://127.0.0.1:4222")
    with pytest.raises(SettingsError, match="for the split form"):
        load_settings(app_validator="apart")
