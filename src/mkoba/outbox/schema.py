"""The outbox's table: every message to send (SMS, callbacks), its state and attempts.

TranProc commits rows here with the money (its notes), channels add their own
(SMS replies, Daraja's failure callbacks), and the sender (``sender.py``)
records each attempt. Everyone builds rows with ``OUTBOX_COLUMNS``; reads go
through ``reads.py``.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id BIGINT PRIMARY KEY,
    request_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created BIGINT NOT NULL,
    next_attempt BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    reference TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt);
CREATE INDEX IF NOT EXISTS outbox_recipient ON outbox (recipient, created);
"""

OUTBOX_COLUMNS = (
    "id",
    "request_id",
    "channel",
    "recipient",
    "body",
    "state",
    "attempts",
    "created",
    "next_attempt",
    "updated",
    "reference",
)
