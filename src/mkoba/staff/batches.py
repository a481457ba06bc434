"""Bulk disbursement batches: a file of payees staff uploaded, and each row's payment.

The ``staff_batches`` and ``staff_batch_rows`` tables are this package's. A batch
names the organisation that pays (its shortcode), how many rows, their total and
the B2C fees they cost, the staff command that approves it (maker-checker), and
where it stands:

- ``waiting``: recorded with its command, for a checker to approve (or not);
- ``paying``: approved; the console pays its rows one by one;
- ``finished``: every row paid or failed;
- ``closed``: not paid: its command was rejected, withdrawn, or failed at approval.

A row is ``waiting`` until sent, ``sending`` while TranProc decides (a restart sends
it again with the same request id, which TranProc answers as before), then ``paid``
(with its receipt) or ``failed`` (with TranProc's code and message).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from mkoba.ledger import Write, WriteMode
from mkoba.staff.accounts import Reader

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_batches (
    id BIGINT PRIMARY KEY,
    shortcode TEXT NOT NULL,
    payer TEXT NOT NULL,
    title TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    total BIGINT NOT NULL,
    fees BIGINT NOT NULL,
    state TEXT NOT NULL,
    command_id BIGINT NOT NULL,
    maker_id BIGINT NOT NULL,
    maker TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS staff_batches_state ON staff_batches (state, id);
CREATE TABLE IF NOT EXISTS staff_batch_rows (
    batch_id BIGINT NOT NULL,
    line BIGINT NOT NULL,
    phone TEXT NOT NULL,
    amount BIGINT NOT NULL,
    fee BIGINT NOT NULL,
    reference TEXT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    receipt TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (batch_id, line)
);
"""
MIGRATION = "staff-batches-0001"

WAITING = "waiting"
PAYING = "paying"
FINISHED = "finished"
CLOSED = "closed"
# A row's states.
SENDING = "sending"
PAID = "paid"
FAILED = "failed"
ROW_STATES = (WAITING, SENDING, PAID, FAILED)

_BATCH = (
    "id",
    "shortcode",
    "payer",
    "title",
    "row_count",
    "total",
    "fees",
    "state",
    "command_id",
    "maker_id",
    "maker",
    "created",
    "updated",
)
_ROW = (
    "batch_id",
    "line",
    "phone",
    "amount",
    "fee",
    "reference",
    "name",
    "state",
    "receipt",
    "code",
    "message",
    "updated",
)


class Batch(NamedTuple):
    """One uploaded file of payments and where it stands."""

    id: int
    shortcode: str
    payer: str
    title: str
    row_count: int
    total: int
    fees: int
    state: str
    command_id: int
    maker_id: int
    maker: str
    created: int
    updated: int

    @property
    def entity(self) -> str:
        """What its staff command acts on (one open command per batch)."""
        return f"bulk:{self.id}"


class Row(NamedTuple):
    """One payee of a batch: the file's line, what to pay, and what came of it."""

    batch_id: int
    line: int
    phone: str
    amount: int
    fee: int
    reference: str
    name: str
    state: str
    receipt: str
    code: str
    message: str
    updated: int

    @property
    def request_id(self) -> str:
        """The id of the request that pays it: one per row, so a retry is a replay."""
        return f"bulk:{self.batch_id}:{self.line}"


class Progress(NamedTuple):
    """How far a batch's payments are: rows and amounts by state."""

    paid: int
    failed: int
    remaining: int
    paid_amount: int
    failed_amount: int


def next_id(store: Reader) -> int:
    """The next batch's id (the one console process allocates them, under its lock)."""
    found = store.query("SELECT COALESCE(MAX(id), 0) FROM staff_batches")
    return int(found[0][0]) + 1


def get(store: Reader, batch_id: int) -> Batch | None:
    """The batch with this id, or None."""
    rows = store.query(f"SELECT {', '.join(_BATCH)} FROM staff_batches WHERE id = ?", (batch_id,))
    return _batch(rows[0]) if rows else None


def listing(store: Reader, states: tuple[str, ...] = (), limit: int = 100) -> list[Batch]:
    """The newest batches, in ``states`` where given."""
    clause = f" WHERE state IN ({', '.join('?' * len(states))})" if states else ""
    rows = store.query(
        f"SELECT {', '.join(_BATCH)} FROM staff_batches{clause} ORDER BY id DESC LIMIT ?",
        (*states, limit),
    )
    return [_batch(row) for row in rows]


def rows_of(store: Reader, batch_id: int, states: tuple[str, ...] = ()) -> list[Row]:
    """A batch's rows in file order, in ``states`` where given."""
    clause = f" AND state IN ({', '.join('?' * len(states))})" if states else ""
    rows = store.query(
        f"SELECT {', '.join(_ROW)} FROM staff_batch_rows WHERE batch_id = ?{clause} ORDER BY line",
        (batch_id, *states),
    )
    return [_row(row) for row in rows]


def progress(store: Reader, batch_id: int) -> Progress:
    """Rows paid, failed and still to pay, and the amounts paid and failed."""
    found = store.query(
        "SELECT state, COUNT(*), COALESCE(SUM(amount), 0) FROM staff_batch_rows"
        " WHERE batch_id = ? GROUP BY state",
        (batch_id,),
    )
    counts = {str(state): (int(count), int(amount)) for state, count, amount in found}
    paid, paid_amount = counts.get(PAID, (0, 0))
    failed, failed_amount = counts.get(FAILED, (0, 0))
    remaining = counts.get(WAITING, (0, 0))[0] + counts.get(SENDING, (0, 0))[0]
    return Progress(paid, failed, remaining, paid_amount, failed_amount)


def new_rows(batch: Batch, rows: list[Row]) -> list[Write]:
    """A new batch's rows: its header and every payee."""
    return [
        Write("staff_batches", _BATCH, tuple(batch)),
        *(Write("staff_batch_rows", _ROW, tuple(row)) for row in rows),
    ]


def batch_update(batch: Batch) -> Write:
    """A batch's row after a change of state (or of its command)."""
    return Write(
        "staff_batches",
        ("id", "state", "command_id", "updated"),
        (batch.id, batch.state, batch.command_id, batch.updated),
        ("id",),
        WriteMode.UPDATE,
    )


def command_update(batch_id: int, command_id: int, now: int) -> Write:
    """A new batch's command, once made (its state is the approval's to change)."""
    return Write(
        "staff_batches",
        ("id", "command_id", "updated"),
        (batch_id, command_id, now),
        ("id",),
        WriteMode.UPDATE,
    )


def row_update(row: Row) -> Write:
    """A payee's row after a change of state."""
    return Write(
        "staff_batch_rows",
        ("batch_id", "line", "state", "receipt", "code", "message", "updated"),
        (row.batch_id, row.line, row.state, row.receipt, row.code, row.message, row.updated),
        ("batch_id", "line"),
        WriteMode.UPDATE,
    )


def _batch(row: tuple[Any, ...]) -> Batch:
    return Batch(
        id=int(row[0]),
        shortcode=str(row[1]),
        payer=str(row[2]),
        title=str(row[3]),
        row_count=int(row[4]),
        total=int(row[5]),
        fees=int(row[6]),
        state=str(row[7]),
        command_id=int(row[8]),
        maker_id=int(row[9]),
        maker=str(row[10]),
        created=int(row[11]),
        updated=int(row[12]),
    )


def _row(row: tuple[Any, ...]) -> Row:
    return Row(
        batch_id=int(row[0]),
        line=int(row[1]),
        phone=str(row[2]),
        amount=int(row[3]),
        fee=int(row[4]),
        reference=str(row[5]),
        name=str(row[6]),
        state=str(row[7]),
        receipt=str(row[8]),
        code=str(row[9]),
        message=str(row[10]),
        updated=int(row[11]),
    )
