"""The processor's tables: requests (for replays), receipts, statements, daily usage.

``pending_settlements`` keeps, per request waiting for its response's delivery,
what posting it will commit (``settlement.py``): written with phase one, its
``body`` scrubbed to '' by the commit that posts or rolls the request back.

The messages TranProc commits with the money go in the outbox's table
(``outbox/schema.py``), which the outbox package owns.
"""

from __future__ import annotations

from typing import NamedTuple

from mkoba.ledger import Store
from mkoba.processor.status import Status

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    product TEXT NOT NULL,
    party_id BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    status TEXT NOT NULL,
    code TEXT NOT NULL,
    response TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_status ON requests (status) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS receipts (
    receipt TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    number BIGINT NOT NULL,
    product TEXT NOT NULL,
    status TEXT NOT NULL,
    payer_id BIGINT NOT NULL,
    payee_id BIGINT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount >= 0),
    fee BIGINT NOT NULL CHECK (fee >= 0),
    business_fee BIGINT NOT NULL CHECK (business_fee >= 0),
    excise BIGINT NOT NULL CHECK (excise >= 0),
    commission BIGINT NOT NULL CHECK (commission >= 0),
    usage BIGINT NOT NULL CHECK (usage >= 0),
    tariff TEXT NOT NULL,
    reference TEXT NOT NULL,
    legs TEXT NOT NULL,
    created BIGINT NOT NULL,
    completed BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS receipts_payer ON receipts (payer_id, created);
CREATE INDEX IF NOT EXISTS receipts_payee ON receipts (payee_id, created);
CREATE INDEX IF NOT EXISTS receipts_request ON receipts (request_id);
CREATE TABLE IF NOT EXISTS statement_lines (
    party_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    receipt TEXT NOT NULL,
    line INTEGER NOT NULL,
    description TEXT NOT NULL,
    amount BIGINT NOT NULL,
    balance BIGINT NOT NULL,
    PRIMARY KEY (party_id, at, receipt, line)
);
CREATE TABLE IF NOT EXISTS daily_usage (
    party_id BIGINT NOT NULL,
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (party_id, day, kind)
);
"""

# What a request waiting for delivery commits when it is posted, kept across a restart.
SETTLEMENTS = """
CREATE TABLE IF NOT EXISTS pending_settlements (
    number BIGINT PRIMARY KEY,
    msisdn TEXT NOT NULL,
    deadline BIGINT NOT NULL,
    body TEXT NOT NULL
);
"""
SETTLEMENTS_MIGRATION = "processor-0003-pending-settlements"
SETTLEMENT_COLUMNS = ("number", "msisdn", "deadline", "body")


def migrate(store: Store) -> None:
    """Create the tables the processor itself adds to a store (run by ``Processor.start``)."""
    store.migrate_script(SETTLEMENTS_MIGRATION, SETTLEMENTS)


# The daily finance pack reads a day's receipts by when they completed.
INDEXES = "CREATE INDEX IF NOT EXISTS receipts_completed ON receipts (completed);"
INDEXES_MIGRATION = "processor-0002-receipts-completed"

REQUEST_COLUMNS = (
    "id",
    "number",
    "channel",
    "product",
    "party_id",
    "fingerprint",
    "status",
    "code",
    "response",
    "created",
    "updated",
)


class Receipt(NamedTuple):
    """A business transaction's receipt (one row of ``receipts``)."""

    receipt: str
    request_id: str
    number: int
    product: str
    status: Status
    payer_id: int
    payee_id: int
    amount: int
    fee: int
    business_fee: int
    excise: int
    commission: int
    usage: int
    tariff: str
    reference: str
    # The legs as JSON: [[debit, credit, amount], ...].
    legs: str
    created: int
    completed: int


RECEIPT_COLUMNS = Receipt._fields
STATEMENT_COLUMNS = ("party_id", "at", "receipt", "line", "description", "amount", "balance")
