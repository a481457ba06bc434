"""What clients saw: every answer, as a client of the fronts records it.

An answer is one attempt of one request. A request is named by its client's
key (the native API's ``Idempotency-Key``; an STK push's CheckoutRequestID),
and retries of the same request reuse the key. Outcomes:

- ``success``: the client was told the money moved (native: HTTP 200, ``ok``,
  code ``ok`` and a receipt; STK: a callback with ResultCode 0 and a receipt).
- ``failure``: a definite no (a 4xx answer: rolled back, insufficient funds;
  an STK callback with another ResultCode). The client may take it as final.
- ``busy``: 503 (SYSTEM_BUSY): the platform did not answer in time; indeterminate.
- ``error``: any other 5xx or an unreadable answer; indeterminate.
- ``unreachable``: no HTTP answer at all (refused, reset, timed out); indeterminate.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from typing import NamedTuple


class Outcome(enum.StrEnum):
    """What one attempt told its client."""

    SUCCESS = "success"
    FAILURE = "failure"
    BUSY = "busy"
    ERROR = "error"
    UNREACHABLE = "unreachable"
    # An STK push the front accepted: its result comes later, by callback.
    ACCEPTED = "accepted"

    @property
    def definite(self) -> bool:
        """Whether a client may take this answer as the request's final word."""
        return self in (Outcome.SUCCESS, Outcome.FAILURE)


class Answer(NamedTuple):
    """One attempt of one request, as its client saw it (times: ``time.monotonic``)."""

    stream: str
    key: str
    request_id: str
    front: str
    attempt: int
    # When the request's first attempt left: resume times count from requests sent after a fault.
    first_sent: float
    sent: float
    answered: float
    outcome: Outcome
    status: int | None
    code: str
    receipt: str | None


# Refusals the load itself causes: a cancelled prompt (1032), a push while the customer's
# last prompt is still open (500.001.1001), a pool out of money.
REFUSALS = {"stk": ("1032", "500.001.1001"), "native": ("insufficient_funds",)}


def expected(answer: Answer) -> bool:
    """A success, an accepted push, or a refusal the load itself causes (no fault's trace)."""
    if answer.outcome in (Outcome.SUCCESS, Outcome.ACCEPTED):
        return True
    return answer.outcome is Outcome.FAILURE and answer.code in REFUSALS[answer.stream]


class Answers:
    """Every answer, from every client thread, in the order they came."""

    def __init__(self) -> None:
        self._answers: list[Answer] = []
        self._condition = threading.Condition()

    def add(self, answer: Answer) -> None:
        """Record one answer."""
        with self._condition:
            self._answers.append(answer)
            self._condition.notify_all()

    def all(self) -> list[Answer]:
        """Every answer so far."""
        with self._condition:
            return list(self._answers)

    def wait(self, found: Callable[[list[Answer]], bool], timeout_s: float) -> bool:
        """Wait until ``found(answers)`` holds; False after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._condition:
            while not found(self._answers):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._condition.wait(min(left, 0.5))
            return True

    def first_success_sent_after(self, moment: float) -> Answer | None:
        """The earliest-answered success of a request first sent at or after ``moment``."""
        found = [a for a in self.all() if a.outcome is Outcome.SUCCESS and a.first_sent >= moment]
        return min(found, key=lambda a: a.answered, default=None)

    def counts(self, since: float = 0.0, until: float = float("inf")) -> dict[str, int]:
        """How many answers of each outcome (per stream) came from ``since`` to ``until``."""
        counted: dict[str, int] = {}
        for answer in self.all():
            if since <= answer.answered < until:
                name = f"{answer.stream}.{answer.outcome}"
                counted[name] = counted.get(name, 0) + 1
        return dict(sorted(counted.items()))
