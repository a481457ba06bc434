"""An STK payer: a business pushes payment prompts through the fronts and waits for callbacks.

The business (the sandbox app) pushes a prompt to one customer at a time, each
with a callback URL of its own on the test's listener; the sandbox answers for
the customer (``daraja_sandbox_msisdns`` names the payers): it approves, except
that an amount of KES 1032 is a cancelled prompt, whose failure callback is a
row the front itself writes. What the business sees: the push's answer (accepted
or not), then the callback. A callback with ResultCode 0 and a receipt is a
success; with another code, a failure. Daraja has no idempotency key: the
CheckoutRequestID names the request, and a failed push is not retried.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

import httpx

from tests.compat.listener import Listener
from tests.compat.support import STK_SHORTCODE, stk_password
from tests.faults.answers import Answer, Answers, Outcome

# Every other push, the first included, is a cancelled prompt (KES 1032: the sandbox's
# cancel rule). A payer alternates fronts starting at its own, so each front writes
# failure callbacks from the start: the warm-up waits for every payer's first two.
cancel_every = 2
CANCEL_KES = 1032
# How long the payer waits for a prompt's callback before pushing the next one.
callback_wait_s = 3.0
push_timeout_s = 15.0


class Front(NamedTuple):
    """A front as a Daraja client knows it: its name, URL and OAuth token."""

    name: str
    url: str
    token: str


class Push(NamedTuple):
    """An accepted push: where its callback goes, and when it left."""

    checkout: str
    path: str
    front: str
    sent: float


class StkPayer:
    """Pushes prompts to ``payer`` through the fronts, one at a time, until stopped."""

    def __init__(
        self,
        answers: Answers,
        fronts: Sequence[Front],
        payer: str,
        listener: Listener,
        first_front: int,
    ) -> None:
        self.answers = answers
        self.fronts = fronts
        self.payer = payer
        self.listener = listener
        self.stopping = threading.Event()
        self.accepted: list[Push] = []
        # Pushes finished: answered, and called back or waited for.
        self.done = 0
        self._count = itertools.count()
        self._next_front = itertools.count(first_front)

    def run(self) -> None:
        """Push until stopped (the prompt in hand is waited for first)."""
        with httpx.Client(timeout=push_timeout_s) as client:
            while not self.stopping.is_set():
                self._push(client)
                self.done += 1

    def _push(self, client: httpx.Client) -> None:
        number = next(self._count)
        amount = CANCEL_KES if number % cancel_every == 0 else 1 + number % 20
        front = self.fronts[next(self._next_front) % len(self.fronts)]
        path = f"/stk/{uuid.uuid4().hex}"
        sent = time.monotonic()
        try:
            http = client.post(
                f"{front.url}/mpesa/stkpush/v1/processrequest",
                json=self._body(amount, self.listener.url(path)),
                headers={"Authorization": f"Bearer {front.token}"},
            )
            status: int | None = http.status_code
            found = _json(http)
            body: dict[str, Any] = found if isinstance(found, dict) else {}
        except httpx.HTTPError as problem:
            status, body = None, {"errorCode": type(problem).__name__}
        checkout = str(body.get("CheckoutRequestID", ""))
        accepted = status == 200 and body.get("ResponseCode") == "0"
        outcome = _push_outcome(status, accepted, str(body.get("errorCode", "")))
        code = str(body.get("ResponseCode" if accepted else "errorCode", ""))
        key = checkout or path
        self._record(key, front.name, sent, sent, time.monotonic(), outcome, status, code, None)
        if not accepted:
            time.sleep(0.2)  # a business's pause before pushing again after a refusal
            return
        self.accepted.append(Push(checkout, path, front.name, sent))
        try:
            (callback,) = self.listener.wait(path, 1, callback_wait_s)[:1]
        except AssertionError:
            return  # no callback yet: the final check counts what arrived
        self._called_back(key, front.name, sent, callback)

    def _called_back(self, key: str, front: str, sent: float, callback: Any) -> None:
        stk = callback.get("Body", {}).get("stkCallback", {}) if isinstance(callback, dict) else {}
        result = stk.get("ResultCode")
        items = {
            item.get("Name"): item.get("Value")
            for item in stk.get("CallbackMetadata", {}).get("Item", [])
        }
        receipt = items.get("MpesaReceiptNumber")
        outcome = Outcome.SUCCESS if result == 0 and receipt else Outcome.FAILURE
        self._record(key, front, sent, sent, time.monotonic(), outcome, None, str(result), receipt)

    def _record(
        self,
        key: str,
        front: str,
        first_sent: float,
        sent: float,
        answered: float,
        outcome: Outcome,
        status: int | None,
        code: str,
        receipt: str | None,
    ) -> None:
        self.answers.add(
            Answer(
                "stk",
                key,
                "",  # the front names it (stk:<app>:<checkout>): the key is the checkout
                front,
                1,
                first_sent,
                sent,
                answered,
                outcome,
                status,
                code,
                None if receipt is None else str(receipt),
            )
        )

    def _body(self, amount: int, callback: str) -> dict[str, Any]:
        password, stamp = stk_password()
        return {
            "BusinessShortCode": STK_SHORTCODE,
            "Password": password,
            "Timestamp": stamp,
            "TransactionType": "CustomerPayBillOnline",
            "Amount": amount,
            "PartyA": self.payer,
            "PartyB": STK_SHORTCODE,
            "PhoneNumber": self.payer,
            "CallBackURL": callback,
            "AccountReference": "FAULTS",
            "TransactionDesc": "FAULTS",
        }


def _push_outcome(status: int | None, accepted: bool, error: str) -> Outcome:
    """A push's answer. Daraja answers refusals with HTTP 500 too: its code says which.

    ``500.001.*`` and ``500.002.*`` are definite refusals (a prompt already open for the
    customer, a wrong credential); ``500.003.02`` is Daraja's busy (spike arrest);
    ``500.003.1001`` is an internal error.
    """
    if accepted:
        return Outcome.ACCEPTED
    if status is None:
        return Outcome.UNREACHABLE
    if status == 503 or error == "500.003.02":
        return Outcome.BUSY
    if 400 <= status < 500 or error.startswith(("500.001.", "500.002.")):
        return Outcome.FAILURE
    return Outcome.ERROR


def _json(http: httpx.Response) -> object:
    try:
        return http.json()
    except ValueError:
        return None


def token(client: httpx.Client, url: str) -> str:
    """An OAuth token for the sandbox app, from the front at ``url``."""
    from tests.compat.support import CONSUMER_KEY, CONSUMER_SECRET

    answer = client.get(
        f"{url}/oauth/v1/generate",
        params={"grant_type": "client_credentials"},
        auth=(CONSUMER_KEY, CONSUMER_SECRET),
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])
