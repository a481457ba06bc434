"""The SMS channel's table: which SMSC message ids carry which outbox message."""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS sms_parts (
    message_id TEXT PRIMARY KEY,
    outbox_id BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    reference TEXT NOT NULL,
    part INTEGER NOT NULL,
    parts INTEGER NOT NULL,
    state TEXT NOT NULL,
    submitted BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sms_parts_outbox ON sms_parts (outbox_id);
"""
PART_COLUMNS = (
    "message_id",
    "outbox_id",
    "request_id",
    "reference",
    "part",
    "parts",
    "state",
    "submitted",
    "updated",
)
