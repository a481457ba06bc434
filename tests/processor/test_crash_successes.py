"""A success a client has seen is never undone, whatever kills the server (kill -9 under load).

Found by an attacker: after kill -9, a few of the successes the native API or
USSD had already answered came back ``rolled_back`` at the next start (the
acknowledgement that posts them came after the answer, and the crash fell in
between). Method, Jepsen-style: clients send money over the native API (each
with its own idempotency key) and over USSD (each with an amount of its own, to
find it in the books) as fast as they can; the server is SIGKILLed at a random
moment, restarted on the same store, and loaded again, several times. Every
answer a client saw as a success is recorded; anything else (an error, a lost
connection) is indeterminate. After a last restart, every recorded success must
be completed in the books, its replay must still answer success, and the books
must reconcile.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.channels.serving import Served, serve

PIN = "1357"
FIRST_CUSTOMER = 254712000001
API_CLIENTS = 12
USSD_CLIENTS = 6
KILLS = 4
# Each life of the server takes load for a random time in this range (s) before the kill.
LOAD_S = (1.0, 2.5)
# Successes each life must have seen before its kill (a busy machine serves fewer in
# LOAD_S: the load then goes on, up to EXTRA_S more), so that the test means something.
API_PER_LIFE, USSD_PER_LIFE, EXTRA_S = 30, 6, 15.0
# A payer must hold this much (minor units) to send for the whole test.
FUNDS_MIN = 200_000

pytestmark = pytest.mark.slow


@dataclass
class Seen:
    """What the clients saw: successes (to check) and how many answers were indeterminate."""

    api: list[tuple[str, str, str]] = field(default_factory=list)  # (payer, payee, key)
    ussd: list[tuple[str, int]] = field(default_factory=list)  # (payer, amount in shillings)
    unknown: int = 0


async def _balance(client: httpx.AsyncClient, msisdn: str) -> int:
    answer = await client.post("/api/v1/balance", json={"msisdn": msisdn, "pin": PIN})
    data = answer.json()["data"]
    return int(data.get("balance_minor", data.get("balance", 0)))


async def _payers(url: str, count: int) -> list[str]:
    """Demo customers who can afford the whole test, each a payer of one client."""
    found: list[str] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for index in range(100, 1000):
            msisdn = str(FIRST_CUSTOMER + index)
            if await _balance(client, msisdn) >= FUNDS_MIN:
                found.append(msisdn)
            if len(found) == count:
                return found
    raise AssertionError(f"only {len(found)} demo customers hold {FUNDS_MIN}")


async def _api_client(url: str, payer: str, payee: str, seen: Seen, stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        while not stop.is_set():
            key = f"crash-{uuid.uuid4().hex}"
            body = {"msisdn": payer, "pin": PIN, "to": payee, "amount": 10}
            try:
                answer = await client.post(
                    "/api/v1/send-money", json=body, headers={"Idempotency-Key": key}
                )
            except httpx.HTTPError:
                seen.unknown += 1
                await asyncio.sleep(0.05)
                continue
            if answer.status_code == 200 and answer.json()["ok"]:
                seen.api.append((payer, payee, key))
            else:
                seen.unknown += 1


async def _ussd_client(
    url: str, payer: str, payee: str, amounts: list[int], seen: Seen, stop: asyncio.Event
) -> None:
    local = "0" + payee[3:]
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        while not stop.is_set() and amounts:
            amount = amounts.pop()
            session = f"ATUid_{uuid.uuid4().hex}"
            screen = ""
            try:
                for path in (
                    "",
                    "1",
                    f"1*{local}",
                    f"1*{local}*{amount}",
                    f"1*{local}*{amount}*{PIN}",
                ):
                    form = {
                        "sessionId": session,
                        "serviceCode": "*334#",
                        "phoneNumber": f"+{payer}",
                        "networkCode": "63902",
                        "text": path,
                    }
                    answer = await client.post("/ussd/at", data=form)
                    screen = answer.text
                    if not screen.startswith("CON "):
                        break
            except httpx.HTTPError:
                seen.unknown += 1
                await asyncio.sleep(0.05)
                continue
            if screen.startswith("END ") and " sent to " in screen:
                seen.ussd.append((payer, amount))
            else:
                seen.unknown += 1


async def _load(
    served: Served, payers: list[str], amounts: dict[str, list[int]], seen: Seen, rng: random.Random
) -> None:
    """Load the server from every client, then SIGKILL it mid-load."""
    stop = asyncio.Event()
    payees = payers[1:] + payers[:1]
    tasks = [
        asyncio.create_task(_api_client(served.url, payers[i], payees[i], seen, stop))
        for i in range(API_CLIENTS)
    ]
    tasks += [
        asyncio.create_task(_ussd_client(served.url, payer, payees[i], amounts[payer], seen, stop))
        for i, payer in enumerate(payers[API_CLIENTS:], start=API_CLIENTS)
    ]
    api, ussd = len(seen.api), len(seen.ussd)
    await asyncio.sleep(rng.uniform(*LOAD_S))
    deadline = time.monotonic() + EXTRA_S
    while time.monotonic() < deadline and (
        len(seen.api) - api < API_PER_LIFE or len(seen.ussd) - ussd < USSD_PER_LIFE
    ):
        await asyncio.sleep(0.05)
    os.kill(served.pid, signal.SIGKILL)
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*tasks)


def test_no_success_a_client_saw_is_undone_by_kill_9(tmp_path: Path) -> None:
    seed = int(os.environ.get("MKOBA_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    seen = Seen()
    payers: list[str] = []
    amounts: dict[str, list[int]] = {}
    for life in range(KILLS):
        with serve(tmp_path, f"serve-{life}.log") as served:
            if not payers:
                payers = asyncio.run(_payers(served.url, API_CLIENTS + USSD_CLIENTS))
                # Every USSD send has an amount of its own (shillings), to find it in the books.
                for index, payer in enumerate(payers[API_CLIENTS:]):
                    start = 11 + index * 1000
                    amounts[payer] = list(range(start + 999, start - 1, -1))
            asyncio.run(_load(served, payers, amounts, seen, rng))
    assert len(seen.api) > 100 and len(seen.ussd) > 20, (seed, seen.unknown)
    with serve(tmp_path, "serve-last.log") as served:
        undone = _undone(served, seen)
        replays = asyncio.run(_replays(served.url, seen.api[-50:]))
    assert not undone, f"seed={seed}: {len(undone)} seen successes undone: {undone[:5]}"
    assert replays == [], f"seed={seed}: replays of seen successes: {replays[:5]}"
    checked = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mkoba.cli import main; main()",
            "reconcile",
            "--db",
            str(served.db),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _undone(served: Served, seen: Seen) -> list[str]:
    """Every seen success whose money is not completed in the books."""
    undone = []
    for payer, _, key in seen.api:
        rows = served.rows(
            "SELECT r.status, c.status FROM requests AS r JOIN receipts AS c"
            " ON c.number = r.number WHERE r.id = ?",
            (f"api:{payer}:{key}",),
        )
        if rows != [("completed", "completed")]:
            undone.append(f"api {payer} {key}: {rows}")
    for payer, amount in seen.ussd:
        rows = served.rows(
            "SELECT c.status FROM receipts AS c JOIN parties AS p ON p.id = c.payer_id"
            " WHERE p.msisdn = ? AND c.product = 'send_money' AND c.amount = ?",
            (payer, amount * 100),
        )
        if rows != [("completed",)]:
            undone.append(f"ussd {payer} Ksh{amount}: {rows}")
    return undone


async def _replays(url: str, successes: list[tuple[str, str, str]]) -> list[str]:
    """Replays (same key, same body, the PIN) of seen successes that do not answer success."""
    wrong = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for payer, payee, key in successes:
            answer = await client.post(
                "/api/v1/send-money",
                json={"msisdn": payer, "pin": PIN, "to": payee, "amount": 10},
                headers={"Idempotency-Key": key},
            )
            if answer.status_code != 200 or not answer.json()["ok"]:
                wrong.append(f"{payer} {key}: {answer.status_code} {answer.text}")
    return wrong
