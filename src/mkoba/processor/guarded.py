"""Decisions on a record others may decide at the same time: a voucher, a reversal hold.

Settling a voucher, holding a reversal and deciding it resolve a record that two
requests (two agents, an agent and the lapse sweep, two members of staff) may
race for. A product answers such a request with a ``Guarded``: the record's lock
key, how to read the record, and a decision on what it read. TranProc takes the
lock, reads the record again, lets the product decide on what it read, and
commits the decision: a ``Record``, or a ``Posting`` whose money commits with the
record's new state in one batch (``posting.post``), or, when the ledger refuses
it, the rows the product asks for then (a hold that lapsed). The product does no
I/O of its own and holds no lock; the sweeps use the same ``settle``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from mkoba.ledger import Transfer, Write
from mkoba.processor.locks import PartyLocks
from mkoba.processor.plan import Plan, Posted, Record
from mkoba.processor.posting import post
from mkoba.processor.request import Request
from mkoba.processor.services import Services

T = TypeVar("T")


def _no_rows(_posted: Posted) -> Sequence[Write]:
    return ()


@dataclass(frozen=True)
class Posting:
    """Money that resolves a record, the record's new state, and what to answer.

    ``rows(number, receipt)`` are the record's rows, committed with the money (the
    ledger writer may build them again for a batch it decides again: the last
    build is the one committed). ``answer`` is the product's answer once the ledger
    has spoken; it raises ``Refused`` when the money did not move. ``refused`` are
    rows to commit when the ledger refused the money.
    """

    plan: Plan
    rows: Callable[[int, str], Sequence[Write]]
    answer: Callable[[Posted], Record]
    transfers: Sequence[Transfer] | None = None
    timeout_s: int = 0
    receipt: bool = True
    refused: Callable[[Posted], Sequence[Write]] = field(default=_no_rows)


@dataclass(frozen=True)
class Guarded(Generic[T]):
    """A decision on the record named ``key``, made on the record as ``read`` finds it."""

    key: str
    read: Callable[[], Awaitable[T]]
    decide: Callable[[T], Awaitable[Posting | Record]]


@dataclass(frozen=True)
class Settled:
    """What a guarded decision came to: the answer, and the posting (None: none was made)."""

    record: Record
    posted: Posted | None
    # The plan posted (None: none was), for whoever watches what moved (the risk rules).
    plan: Plan | None = None


async def settle(
    services: Services,
    locks: PartyLocks,
    request: Request,
    guarded: Guarded[T],
    now: int,
    vouch: Callable[[], None] = lambda: None,
) -> Settled:
    """Under the record's lock: read it, decide, and commit the decision.

    ``vouch`` runs before any money moves (TranProc's backstop: a product that needed
    the PIN checked it) and refuses by raising.
    """
    async with locks.hold(guarded.key):
        current = await guarded.read()
        decision = await guarded.decide(current)
        if isinstance(decision, Record):
            return Settled(decision, None)
        vouch()
        posted = await post(
            services,
            request,
            decision.plan,
            now,
            transfers=decision.transfers,
            timeout_s=decision.timeout_s,
            receipt=decision.receipt,
            rows=decision.rows,
        )
        if not posted.ok:
            rows = list(decision.refused(posted))
            if rows:
                await services.writer.submit_async([], attach=rows)
        return Settled(decision.answer(posted), posted, decision.plan)
