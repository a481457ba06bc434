"""Money sent through the fronts while faults happen: client threads that record every answer.

Each native client is a customer sending money through ``POST /api/v1/send-money``
with an ``Idempotency-Key`` of its own per request. It spreads its attempts over
the fronts as a load balancer without health checks would (the next attempt goes
to the next front), and retries an indeterminate answer (busy, error,
unreachable) with the same key, as a careful client does, a few times, then
gives up and starts a new request. STK payers (``stk.py``) run beside them.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from collections.abc import Sequence

import httpx

from tests.faults.answers import Answer, Answers, Outcome
from tests.faults.stk import StkPayer

PIN = "1357"
# A client waits this long for an answer: more than the platform's request timeout
# (rig.SETTINGS) and a delivery acknowledgement's (5 s) together.
client_timeout_s = 15.0
# Attempts per request (the first and its retries with the same key).
attempts_max = 3
# A client's pause before retrying an indeterminate answer.
retry_pause_s = 0.2
# Amounts in cents: fee-free and fee-paying bands (Kenya: KES 101 pays a fee), small enough
# that a pool's money lasts a scenario.
amounts_minor = (100, 4_900, 10_100)


def classify(status: int, body: object) -> tuple[Outcome, str, str | None]:
    """A native API answer's outcome, code and receipt."""
    if not isinstance(body, dict):
        return Outcome.ERROR, f"http {status}", None
    code = str(body.get("code", ""))
    receipt = body.get("receipt") or None
    if status == 200 and body.get("ok") is True and code == "ok" and receipt:
        return Outcome.SUCCESS, code, str(receipt)
    if status == 503:
        return Outcome.BUSY, code, None
    if 400 <= status < 500 and status != 499:
        return Outcome.FAILURE, code, None
    return Outcome.ERROR, code or f"http {status}", None


class NativeSender:
    """Customers of a pool sending money round the pool, request after request, via the fronts.

    Each request goes from the next customer to the one after, so the pool's money
    circulates (less fees) instead of draining one wallet, and pools never share a
    customer (no two clients wait on one customer's lock).
    """

    def __init__(
        self, answers: Answers, fronts: Sequence[tuple[str, str]], pool: Sequence[str]
    ) -> None:
        assert len(pool) >= 2
        self.answers = answers
        self.fronts = fronts
        self.pool = pool
        self.stopping = threading.Event()
        self._next_front = itertools.count(random.randrange(len(fronts)))
        self._next_sender = itertools.count()
        self._random = random.Random(pool[0])

    def run(self) -> None:
        """Send until stopped (the request in hand is finished first)."""
        with httpx.Client(timeout=client_timeout_s) as client:
            while not self.stopping.is_set():
                self._request(client)

    def _request(self, client: httpx.Client) -> None:
        key = uuid.uuid4().hex
        index = next(self._next_sender)
        sender = self.pool[index % len(self.pool)]
        body = {
            "msisdn": sender,
            "pin": PIN,
            "to": self.pool[(index + 1) % len(self.pool)],
            "amount_minor": self._random.choice(amounts_minor),
        }
        first_sent = time.monotonic()
        for attempt in range(1, attempts_max + 1):
            name, url = self.fronts[next(self._next_front) % len(self.fronts)]
            sent = time.monotonic()
            try:
                http = client.post(
                    f"{url}/api/v1/send-money", json=body, headers={"Idempotency-Key": key}
                )
                outcome, code, receipt = classify(http.status_code, _json(http))
                status: int | None = http.status_code
            except httpx.HTTPError as problem:
                outcome, code, receipt, status = (
                    Outcome.UNREACHABLE,
                    type(problem).__name__,
                    None,
                    None,
                )
            self.answers.add(
                Answer(
                    "native",
                    key,
                    f"api:{sender}:{key}",
                    name,
                    attempt,
                    first_sent,
                    sent,
                    time.monotonic(),
                    outcome,
                    status,
                    code,
                    receipt,
                )
            )
            if outcome.definite or self.stopping.is_set():
                return
            time.sleep(retry_pause_s)


def _json(http: httpx.Response) -> object:
    try:
        return http.json()
    except ValueError:
        return None


class Load:
    """Native senders and STK payers on threads of their own, until ``stop``."""

    def __init__(self, clients: Sequence[NativeSender | StkPayer]) -> None:
        self.clients = list(clients)
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start every client."""
        for index, client in enumerate(self.clients):
            thread = threading.Thread(target=client.run, name=f"load-{index}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self, timeout_s: float) -> list[str]:
        """Stop every client and wait for the requests in hand; the names of any still stuck."""
        for client in self.clients:
            client.stopping.set()
        deadline = time.monotonic() + timeout_s
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return [thread.name for thread in self.threads if thread.is_alive()]
