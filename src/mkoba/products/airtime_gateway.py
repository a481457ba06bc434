"""The airtime gateway: how mkoba asks a mobile operator to top up a line.

``AirtimeGateway`` is the seam (one call: top up a number); ``MemoryOperator``
is the operator that runs in-process, keeping airtime balances per MSISDN in
memory, as the embedded default and for tests (it can be told to fail). A
real operator's adapter implements the same protocol and goes in the
products' ``Kit`` (``kit.py``), built by the composition root.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

# Top-ups the in-process operator remembers, to answer a repeated reference alike.
references_max = 100_000


class AirtimeGateway(Protocol):
    """An operator's top-up interface."""

    async def top_up(self, msisdn: str, amount: int, reference: str) -> bool:
        """Credit ``amount`` minor units of airtime to ``msisdn``; True once it is done.

        ``reference`` is the idempotency key: asking again with the same one
        must not top up twice. False (or an exception) means nothing was given.
        """
        ...


class MemoryOperator:
    """An operator in memory: airtime balances per number, idempotent by reference."""

    def __init__(self) -> None:
        self.balances: dict[str, int] = {}
        self._done: OrderedDict[str, tuple[str, int]] = OrderedDict()
        # Tests set this to make every top-up fail, as an operator outage would.
        self.failing = False

    async def top_up(self, msisdn: str, amount: int, reference: str) -> bool:
        """Add airtime to ``msisdn`` once per reference."""
        assert type(amount) is int
        assert amount > 0
        if self.failing:
            return False
        done = self._done.get(reference)
        if done is not None:
            return done == (msisdn, amount)
        self.balances[msisdn] = self.balances.get(msisdn, 0) + amount
        self._done[reference] = (msisdn, amount)
        while len(self._done) > references_max:
            self._done.popitem(last=False)
        return True

    def balance(self, msisdn: str) -> int:
        """The airtime ``msisdn`` holds, minor units."""
        return self.balances.get(msisdn, 0)
