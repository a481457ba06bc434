"""TranProc's records, read: receipts, statement lines, daily usage, request numbers.

TranProc owns the ``requests``, ``receipts``, ``statement_lines`` and
``daily_usage`` tables (``schema.py``; its rows are built in ``rows.py``).
Everyone else reads them here, as typed rows (``schema.Receipt``...): products (a statement, a
transaction's status, a reversal's original), channels (Daraja's pull API) and
the composition root (the usage to load at start). Reads are blocking: callers
on the event loop run them in a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from mkoba.ledger import Store, queries
from mkoba.processor import ids
from mkoba.processor.request import Response
from mkoba.processor.risk_port import REVERSAL_ASKED, Movement
from mkoba.processor.schema import Receipt
from mkoba.processor.status import Status

__all__ = [
    "Readable",
    "Receipt",
    "StatementLine",
    "Volume",
    "VolumeBucket",
    "commissions",
    "completed_between",
    "completed_from_amount",
    "last_request_number",
    "movements_since",
    "outcome",
    "payments_to",
    "receipt",
    "receipt_of_request",
    "receipts_of_requests",
    "reversals_asked_since",
    "reversals_of",
    "statement",
    "statement_between",
    "usage_since",
    "volumes_between",
    "volumes_by_bucket",
]


class Readable(Protocol):
    """A store, a snapshot or a channel's tables: anything that answers a query."""

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows of a read-only query."""
        ...


_RECEIPT = f"SELECT {', '.join(Receipt._fields)} FROM receipts"
_IDS_PER_QUERY = 500


_INTS = frozenset(
    (
        "number",
        "payer_id",
        "payee_id",
        "amount",
        "fee",
        "business_fee",
        "excise",
        "commission",
        "usage",
        "created",
        "completed",
    )
)


def _receipt(row: tuple[Any, ...]) -> Receipt:
    receipt = Receipt._make(
        int(value) if name in _INTS else str(value)
        for name, value in zip(Receipt._fields, row, strict=True)
    )
    return receipt._replace(status=Status(receipt.status))


def receipt(store: Readable, receipt_id: str) -> Receipt | None:
    """The receipt named ``receipt_id``."""
    rows = store.query(f"{_RECEIPT} WHERE receipt = ?", (receipt_id,))
    return _receipt(rows[0]) if rows else None


def receipt_of_request(store: Readable, request_id: str) -> Receipt | None:
    """The newest receipt a request made."""
    rows = store.query(
        f"{_RECEIPT} WHERE request_id = ? ORDER BY created DESC LIMIT 1", (request_id,)
    )
    return _receipt(rows[0]) if rows else None


def receipts_of_requests(
    store: Readable, request_ids: Sequence[str], product: str
) -> dict[str, Receipt]:
    """The receipts of ``product`` that ``request_ids`` made, by request id."""
    found: dict[str, Receipt] = {}
    # In slices: a query holds at most so many parameters on every store.
    for start in range(0, len(request_ids), _IDS_PER_QUERY):
        chunk = request_ids[start : start + _IDS_PER_QUERY]
        rows = store.query(
            f"{_RECEIPT} WHERE product = ? AND request_id IN ({', '.join('?' * len(chunk))})",
            (product, *chunk),
        )
        for row in rows:
            receipt_row = _receipt(row)
            found[receipt_row.request_id] = receipt_row
    return found


def reversals_of(
    store: Readable, receipt_id: str, products: Sequence[str], statuses: Sequence[Status]
) -> list[str]:
    """The receipts of ``products`` (reversals) that name ``receipt_id``, in ``statuses``."""
    return referencing(store, receipt_id, products, statuses)


def referencing(
    store: Readable, reference: str, products: Sequence[str], statuses: Sequence[Status]
) -> list[str]:
    """The receipts of ``products`` in ``statuses`` whose reference is ``reference``."""
    rows = store.query(
        "SELECT receipt FROM receipts WHERE reference = ?"
        f" AND status IN ({', '.join('?' * len(statuses))})"
        f" AND product IN ({', '.join('?' * len(products))})",
        (reference, *statuses, *products),
    )
    return [str(row[0]) for row in rows]


def commissions(store: Readable, party_ids: Sequence[int], limit: int) -> list[Receipt]:
    """The newest completed receipts that paid a commission to or from ``party_ids``."""
    marks = ", ".join("?" for _ in party_ids)
    rows = store.query(
        f"{_RECEIPT} WHERE status = 'completed' AND commission > 0 AND (payer_id IN ({marks})"
        f" OR payee_id IN ({marks})) ORDER BY completed DESC, receipt DESC LIMIT ?",
        (*party_ids, *party_ids, limit),
    )
    return [_receipt(row) for row in rows]


def payments_to(
    store: Readable,
    payee_id: int,
    products: Sequence[str],
    start: int,
    end: int,
    limit: int,
    offset: int = 0,
) -> list[Receipt]:
    """Completed ``products`` paid to ``payee_id`` from ``start`` to ``end`` (ns), oldest first."""
    rows = store.query(
        f"{_RECEIPT} WHERE payee_id = ? AND status = 'completed'"
        f" AND product IN ({', '.join('?' * len(products))})"
        " AND created >= ? AND created <= ? ORDER BY created, receipt LIMIT ? OFFSET ?",
        (payee_id, *products, start, end, limit, offset),
    )
    return [_receipt(row) for row in rows]


class StatementLine(NamedTuple):
    """One line of a party's statement."""

    at: int
    receipt: str
    description: str
    amount: int
    balance: int


def statement(store: Readable, party_id: int, limit: int) -> list[StatementLine]:
    """A party's newest statement lines, newest first."""
    rows = store.query(
        "SELECT at, receipt, description, amount, balance FROM statement_lines"
        " WHERE party_id = ? ORDER BY at DESC, line DESC LIMIT ?",
        (party_id, limit),
    )
    return [
        StatementLine(int(at), str(receipt), str(text), int(amount), int(balance))
        for at, receipt, text, amount, balance in rows
    ]


def statement_between(
    store: Readable, party_id: int, start: int, end: int, limit: int
) -> tuple[int, list[StatementLine]]:
    """A party's statement lines from ``start`` to before ``end`` (ns), oldest first.

    With the balance before the first of them: the balance after the last line before
    ``start`` (0 when there is none).
    """
    rows = store.query(
        "SELECT at, receipt, description, amount, balance FROM statement_lines"
        " WHERE party_id = ? AND at >= ? AND at < ? ORDER BY at, line LIMIT ?",
        (party_id, start, end, limit),
    )
    before = store.query(
        "SELECT balance FROM statement_lines WHERE party_id = ? AND at < ?"
        " ORDER BY at DESC, line DESC LIMIT 1",
        (party_id, start),
    )
    opening = int(before[0][0]) if before else 0
    lines = [
        StatementLine(int(at), str(receipt), str(text), int(amount), int(balance))
        for at, receipt, text, amount, balance in rows
    ]
    return opening, lines


class Volume(NamedTuple):
    """One product's completed transactions in a period: how many, and their sums."""

    product: str
    transactions: int
    amount: int
    fee: int
    business_fee: int
    excise: int
    commission: int


def volumes_between(store: Readable, start: int, end: int) -> list[Volume]:
    """Per product, the transactions completed from ``start`` to before ``end`` (ns)."""
    rows = store.query(
        "SELECT product, COUNT(*), SUM(amount), SUM(fee), SUM(business_fee), SUM(excise),"
        " SUM(commission) FROM receipts WHERE status = 'completed' AND completed >= ?"
        " AND completed < ? GROUP BY product ORDER BY product",
        (start, end),
    )
    return [Volume(str(row[0]), *(int(value or 0) for value in row[1:])) for row in rows]


class VolumeBucket(NamedTuple):
    """Completed transactions of one product from one channel in one slice of time."""

    # The slice's number from the start asked for (0 is the first ``width`` ns).
    bucket: int
    product: str
    channel: str
    transactions: int
    amount: int


def volumes_by_bucket(store: Readable, start: int, end: int, width: int) -> list[VolumeBucket]:
    """Completed from ``start`` to before ``end`` (ns), per slice of ``width`` ns, product
    and channel (the channel of the request that made each receipt).

    Reads by the ``receipts_completed`` index; the request is found by its primary key.
    """
    assert width > 0
    assert end >= start
    rows = store.query(
        "SELECT (r.completed - ?) / ?, r.product, COALESCE(q.channel, ''), COUNT(*),"
        " SUM(r.amount) FROM receipts r LEFT JOIN requests q ON q.id = r.request_id"
        " WHERE r.status = 'completed' AND r.completed >= ? AND r.completed < ?"
        " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        (start, width, start, end),
    )
    return [
        VolumeBucket(int(bucket), str(product), str(channel), int(count), int(amount or 0))
        for bucket, product, channel, count, amount in rows
    ]


def completed_between(
    store: Readable, products: Sequence[str], start: int, end: int, limit: int
) -> list[Receipt]:
    """The receipts of ``products`` completed from ``start`` to before ``end``, oldest first."""
    marks = ", ".join("?" for _ in products)
    rows = store.query(
        f"{_RECEIPT} WHERE status = 'completed' AND completed >= ? AND completed < ?"
        f" AND product IN ({marks}) ORDER BY completed, receipt LIMIT ?",
        (start, end, *products, limit),
    )
    return [_receipt(row) for row in rows]


def completed_from_amount(
    store: Readable,
    products: Sequence[str],
    start: int,
    end: int,
    amount_min: int,
    limit: int,
    after: tuple[int, str] = (0, ""),
) -> list[Receipt]:
    """Completed ``products`` of ``amount_min`` or more, from ``start`` to before ``end`` (ns).

    Oldest first, ``limit`` at a time: pass the last one's ``(completed, receipt)`` as
    ``after`` for the next page (a week of an operator's deposits is too many for one list).
    Reads by the ``receipts_completed`` index.
    """
    assert limit > 0
    assert amount_min >= 0
    marks = ", ".join("?" for _ in products)
    done, receipt_id = after
    rows = store.query(
        f"{_RECEIPT} WHERE status = 'completed' AND completed >= ? AND completed < ?"
        f" AND product IN ({marks}) AND amount >= ?"
        " AND (completed > ? OR (completed = ? AND receipt > ?))"
        " ORDER BY completed, receipt LIMIT ?",
        (start, end, *products, amount_min, done, done, receipt_id, limit),
    )
    return [_receipt(row) for row in rows]


def usage_since(store: Readable, day: str) -> dict[tuple[int, str, str], int]:
    """Every party's use of its daily allowances on ``day`` and after, by (party, day, kind)."""
    rows = store.query("SELECT party_id, day, kind, used FROM daily_usage WHERE day >= ?", (day,))
    return {
        (int(party_id), str(row_day), str(kind)): int(used)
        for party_id, row_day, kind, used in rows
    }


def outcome(store: Readable, request_id: str) -> tuple[Status, Response] | None:
    """A stored request's status and response."""
    rows = store.query("SELECT status, response FROM requests WHERE id = ?", (request_id,))
    return (Status(rows[0][0]), Response.from_json(str(rows[0][1]))) if rows else None


def last_number(store: Store) -> int:
    """The last number TranProc handed out: requests' and unnumbered transfers' (blocking)."""
    with store.snapshot() as snapshot:
        requests = last_request_number(snapshot)
        transfers = queries.highest_transfer_id(snapshot, ids.unnumbered_id_base)
    return ids.last_number(requests, transfers)


def last_request_number(store: Readable) -> int:
    """The highest request number TranProc has stored (0: none)."""
    return int(store.query("SELECT COALESCE(MAX(number), 0) FROM requests")[0][0])


def payments_since(store: Readable, since: int) -> list[tuple[int, int, int, int]]:
    """Every payment its payer asked for, made or reserved since ``since`` (ns), oldest
    first, as ``(payer, payee, amount, created)``: what the risk rules start from.

    As the rules saw them commit: a payment someone else made from a wallet (a
    reversal staff approved, a sweep's refund) is not the wallet's own activity. A
    request row a later request of the same id replaced no longer says who asked:
    its receipts count, as they always did.
    """
    rows = store.query(
        "SELECT r.payer_id, r.payee_id, r.amount, r.created FROM receipts r"
        " JOIN requests q ON q.id = r.request_id"
        " WHERE r.created >= ? AND r.status IN ('completed', 'pending')"
        " AND (q.party_id = r.payer_id OR q.created > r.created) ORDER BY r.created",
        (since,),
    )
    return [(int(a), int(b), int(c), int(d)) for a, b, c, d in rows]


def movements_since(store: Readable, since: int) -> list[Movement]:
    """Every payment made or reserved since ``since`` (ns), oldest first, as the stream
    rules saw it commit (the request gives the channel and who asked)."""
    rows = store.query(
        "SELECT r.request_id, r.product, COALESCE(q.channel, ''), COALESCE(q.party_id, 0),"
        " r.payer_id, r.payee_id, r.amount, r.commission, r.created FROM receipts r"
        " LEFT JOIN requests q ON q.id = r.request_id"
        " WHERE r.created >= ? AND r.status IN ('completed', 'pending')"
        " ORDER BY r.created, r.number",
        (since,),
    )
    return [
        Movement(
            str(rid),
            str(product),
            str(channel),
            int(initiator),
            int(payer),
            int(payee),
            int(amount),
            int(commission),
            int(created),
        )
        for rid, product, channel, initiator, payer, payee, amount, commission, created in rows
    ]


def reversals_asked_since(store: Readable, since: int) -> list[Movement]:
    """Every reversal asked for (and held) since ``since`` (ns), oldest first, as the
    stream rules saw it: the asker pays, the original's recipient is the payee."""
    rows = store.query(
        "SELECT id, channel, party_id, response, created FROM requests"
        " WHERE product = ? AND status = 'completed' AND created >= ? ORDER BY created",
        (REVERSAL_ASKED, since),
    )
    asked = []
    for rid, channel, party_id, stored, created in rows:
        data = Response.from_json(str(stored)).data
        asked.append((str(rid), str(channel), int(party_id), data, int(created)))
    originals = [str(data.get("original", "")) for *_, data, _ in asked]
    recipients: dict[str, int] = {}
    for start in range(0, len(originals), _IDS_PER_QUERY):
        chunk = originals[start : start + _IDS_PER_QUERY]
        found = store.query(
            "SELECT receipt, payee_id FROM receipts"
            f" WHERE receipt IN ({', '.join('?' * len(chunk))})",
            tuple(chunk),
        )
        recipients.update((str(receipt), int(payee)) for receipt, payee in found)
    return [
        Movement(
            rid,
            REVERSAL_ASKED,
            channel,
            party_id,
            party_id,
            recipients.get(str(data.get("original", "")), 0),
            int(data.get("amount", 0)),
            0,
            created,
        )
        for rid, channel, party_id, data, created in asked
    ]
