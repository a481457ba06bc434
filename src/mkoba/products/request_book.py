"""The request book: money one person asks of another, and bills split among friends.

A money request moves no money when it is made: its row commits with the
request that made it (``Record.rows``), keyed by that request's id (a bill's
requests by the bill's id and the friend's place in it). The payer pays it by
its number; paying, declining and reminding resolve the row under its lock
(``settling``, ``processor/guarded.py``), so a request is paid at most once
however many pays race for it. A request lapses when its ``expires`` passes:
lapsing writes nothing (no money waits in it), the state reads ``lapsed``.
TranProc writes this book, through the products in ``requests.py``,
``pay_request.py`` and ``split_bill.py``; the reminders in ``app_sweep.py``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import NamedTuple

from mkoba.ledger import Store, Write, WriteMode
from mkoba.processor.guarded import Guarded, Posting
from mkoba.processor.plan import Record

SCHEMA = """
CREATE TABLE IF NOT EXISTS money_requests (
    request_id TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    requester_id BIGINT NOT NULL,
    payer_id BIGINT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    note TEXT NOT NULL,
    bill TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    state TEXT NOT NULL,
    settled_by TEXT NOT NULL,
    settled_receipt TEXT NOT NULL,
    reminders BIGINT NOT NULL,
    reminded BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS money_requests_payer ON money_requests (payer_id, number);
CREATE INDEX IF NOT EXISTS money_requests_requester ON money_requests (requester_id, state);
CREATE INDEX IF NOT EXISTS money_requests_bill ON money_requests (bill);
CREATE INDEX IF NOT EXISTS money_requests_open ON money_requests (state, reminded);
CREATE TABLE IF NOT EXISTS bills (
    bill TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    organiser_id BIGINT NOT NULL,
    total BIGINT NOT NULL CHECK (total > 0),
    note TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS bills_organiser ON bills (organiser_id, number);
"""
MIGRATION = "money-requests-0001"

# Request and bill numbers are this many digits: typed on a keypad, read from an SMS.
number_digits = 8

OPEN = "open"
PAID = "paid"
DECLINED = "declined"
# Read only: an open request past its expiry (nothing is written when it lapses).
LAPSED = "lapsed"

_COLUMNS = (
    "request_id",
    "number",
    "requester_id",
    "payer_id",
    "amount",
    "note",
    "bill",
    "created",
    "expires",
    "state",
    "settled_by",
    "settled_receipt",
    "reminders",
    "reminded",
    "updated",
)
_SELECT = f"SELECT {', '.join(_COLUMNS[:-1])} FROM money_requests"
_BILL_COLUMNS = ("bill", "number", "organiser_id", "total", "note", "created", "expires")


class MoneyRequest(NamedTuple):
    """A request as the book holds it."""

    request_id: str
    number: str
    requester_id: int
    payer_id: int
    amount: int
    note: str
    # The bill it belongs to ('' for a request on its own).
    bill: str
    created: int
    expires: int
    state: str
    settled_by: str
    settled_receipt: str
    reminders: int
    reminded: int

    def open(self, now: int) -> bool:
        """Whether it can still be paid or declined."""
        return self.state == OPEN and now < self.expires

    def state_at(self, now: int) -> str:
        """Its state as people read it: ``lapsed`` for an open one past its expiry."""
        return LAPSED if self.state == OPEN and now >= self.expires else self.state


class Bill(NamedTuple):
    """A bill split among friends: one money request per friend."""

    bill: str
    number: str
    organiser_id: int
    total: int
    note: str
    created: int
    expires: int


def new_number() -> str:
    """A fresh random request or bill number (looked up with its payer or organiser)."""
    return f"{secrets.randbelow(10**number_digits):0{number_digits}d}"


# -- rows ---------------------------------------------------------------------------


def request_row(request: MoneyRequest, now: int) -> Write:
    """A new request, committed with the request (or bill) that made it."""
    assert request.amount > 0 and request.requester_id != request.payer_id
    return Write("money_requests", _COLUMNS, (*request, now), ("request_id",), WriteMode.UPSERT)


def bill_row(bill: Bill) -> Write:
    """A new bill, committed with its requests."""
    assert bill.total > 0
    return Write("bills", _BILL_COLUMNS, tuple(bill), ("bill",), WriteMode.UPSERT)


def state_row(request_id: str, state: str, settled_by: str, receipt: str, now: int) -> Write:
    """A request's new state, and which request settled it."""
    assert state in (PAID, DECLINED)
    return Write(
        "money_requests",
        ("request_id", "state", "settled_by", "settled_receipt", "updated"),
        (request_id, state, settled_by, receipt, now),
        ("request_id",),
        WriteMode.UPDATE,
    )


def reminded_row(request_id: str, reminders: int, now: int) -> Write:
    """One more reminder sent for a request, and when."""
    return Write(
        "money_requests",
        ("request_id", "reminders", "reminded", "updated"),
        (request_id, reminders, now, now),
        ("request_id",),
        WriteMode.UPDATE,
    )


# -- reading ------------------------------------------------------------------------


def _request(row: tuple[object, ...]) -> MoneyRequest:
    (request_id, number, requester, payer, amount, note, bill, created, expires) = row[:9]
    state, settled_by, receipt, reminders, reminded = row[9:]
    return MoneyRequest(
        str(request_id),
        str(number),
        int(str(requester)),
        int(str(payer)),
        int(str(amount)),
        str(note),
        str(bill),
        int(str(created)),
        int(str(expires)),
        str(state),
        str(settled_by),
        str(receipt),
        int(str(reminders)),
        int(str(reminded)),
    )


def _read(store: Store, where: str, params: tuple[object, ...]) -> list[MoneyRequest]:
    return [_request(row) for row in store.query(f"{_SELECT} WHERE {where}", params)]


async def by_id(store: Store, request_id: str) -> MoneyRequest | None:
    """The request made by (or for a bill's friend, under) ``request_id``."""
    found = await asyncio.to_thread(_read, store, "request_id = ?", (request_id,))
    return found[0] if found else None


async def to_payer(store: Store, payer_id: int, number: str) -> list[MoneyRequest]:
    """The requests numbered ``number`` made of ``payer_id`` (normally one)."""
    return await asyncio.to_thread(
        _read, store, "payer_id = ? AND number = ? ORDER BY created DESC", (payer_id, number)
    )


async def open_from(store: Store, requester_id: int, now: int) -> int:
    """How many of ``requester_id``'s requests are open (unpaid, undeclined, unlapsed)."""
    rows = await asyncio.to_thread(
        store.query,
        "SELECT COUNT(*) FROM money_requests WHERE requester_id = ? AND state = ? AND expires > ?",
        (requester_id, OPEN, now),
    )
    return int(rows[0][0])


async def of_party(store: Store, party_id: int, since: int, limit: int) -> list[MoneyRequest]:
    """Requests to or from ``party_id`` made since ``since``, newest first."""
    return await asyncio.to_thread(
        _read,
        store,
        "(payer_id = ? OR requester_id = ?) AND created >= ? ORDER BY created DESC LIMIT ?",
        (party_id, party_id, since, limit),
    )


async def of_bill(store: Store, bill: str) -> list[MoneyRequest]:
    """A bill's requests, in the order its friends were listed."""
    return await asyncio.to_thread(_read, store, "bill = ? ORDER BY request_id", (bill,))


async def bills_of(store: Store, organiser_id: int, since: int, limit: int) -> list[Bill]:
    """The organiser's bills made since ``since``, newest first."""
    rows = await asyncio.to_thread(
        store.query,
        f"SELECT {', '.join(_BILL_COLUMNS)} FROM bills WHERE organiser_id = ? AND created >= ?"
        " ORDER BY created DESC LIMIT ?",
        (organiser_id, since, limit),
    )
    return [_bill(row) for row in rows]


async def bill_by_number(store: Store, organiser_id: int, number: str) -> Bill | None:
    """The organiser's bill numbered ``number``."""
    rows = await asyncio.to_thread(
        store.query,
        f"SELECT {', '.join(_BILL_COLUMNS)} FROM bills WHERE organiser_id = ? AND number = ?"
        " ORDER BY created DESC",
        (organiser_id, number),
    )
    return _bill(rows[0]) if rows else None


def _bill(row: tuple[object, ...]) -> Bill:
    bill, number, organiser, total, note, created, expires = row
    return Bill(
        str(bill),
        str(number),
        int(str(organiser)),
        int(str(total)),
        str(note),
        int(str(created)),
        int(str(expires)),
    )


async def reminders_due(
    store: Store, before: int, now: int, reminders_max: int, limit: int
) -> list[MoneyRequest]:
    """Open, unlapsed bill requests reminded fewer than ``reminders_max`` times, last before
    ``before`` (their SMS counts as the first word), the longest waiting first."""
    return await asyncio.to_thread(
        _read,
        store,
        "state = ? AND bill <> '' AND reminded < ? AND expires > ? AND reminders < ?"
        " ORDER BY reminded LIMIT ?",
        (OPEN, before, now, reminders_max, limit),
    )


# -- settling -----------------------------------------------------------------------


def request_key(request_id: str) -> str:
    """The lock of a money request: one decision on it at a time."""
    return f"money_request:{request_id}"


Decide = Callable[[MoneyRequest], Posting | Record]


def guarded(store: Store, request_id: str, decide: Decide) -> Guarded[MoneyRequest | None]:
    """A decision on a request, made on the row as it stands under the request's lock."""

    async def read() -> MoneyRequest | None:
        return await by_id(store, request_id)

    async def decided(current: MoneyRequest | None) -> Posting | Record:
        assert current is not None, request_id
        return decide(current)

    return Guarded(request_key(request_id), read, decided)
