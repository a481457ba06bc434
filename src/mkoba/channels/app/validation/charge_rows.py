"""The validation server's tables for pay by code: pay codes, charges, wrong tries.

Same rules as ``schema``: owned by this package (``app_`` tables), written whole
through ``Tables.submit``, read at start. A pay code is kept only as its keyed
digest (``keys.paycode_digest``): a copy of the database cannot tell which digits
were shown.
"""

from __future__ import annotations

from typing import NamedTuple

from mkoba.channels.app.validation.rows import select, upsert
from mkoba.ledger import Write

MIGRATION = "app-0002"
SCHEMA = """
CREATE TABLE IF NOT EXISTS app_paycodes (
    digest TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    msisdn TEXT NOT NULL,
    state TEXT NOT NULL,
    expires BIGINT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS app_paycodes_expires ON app_paycodes (expires);
CREATE TABLE IF NOT EXISTS app_charges (
    id TEXT PRIMARY KEY,
    payer_device TEXT NOT NULL,
    payer_msisdn TEXT NOT NULL,
    payee_device TEXT NOT NULL,
    payee_msisdn TEXT NOT NULL,
    amount BIGINT NOT NULL,
    reference TEXT NOT NULL,
    state TEXT NOT NULL,
    request_id TEXT NOT NULL,
    receipt TEXT NOT NULL,
    expires BIGINT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS app_charges_expires ON app_charges (expires);
CREATE TABLE IF NOT EXISTS app_paycode_tries (
    device_id TEXT PRIMARY KEY,
    since BIGINT NOT NULL,
    tries INTEGER NOT NULL
);
"""
OWN_TABLES = ("app_paycodes", "app_charges", "app_paycode_tries")

# Pay code states: shown and unused; used by one charge.
OPEN = "open"
USED = "used"
# Charge states: waiting for the payer; in TranProc's hands; paid; declined by the payer.
# A pending charge past its expiry has lapsed (read so; never written back).
PENDING = "pending"
CONFIRMING = "confirming"
PAID = "paid"
DECLINED = "declined"
LAPSED = "lapsed"


class PayCodeRow(NamedTuple):
    """A pay code (by digest) and the payer's device that shows it."""

    digest: str
    device_id: str
    msisdn: str
    state: str
    expires: int
    created: int
    updated: int


class ChargeRow(NamedTuple):
    """A charge a payee made on a pay code, waiting for (or done by) the payer."""

    id: str
    payer_device: str
    payer_msisdn: str
    payee_device: str
    payee_msisdn: str
    amount: int
    reference: str
    state: str
    request_id: str
    receipt: str
    expires: int
    created: int
    updated: int


class TriesRow(NamedTuple):
    """A payee device's wrong pay codes since ``since`` (the window's start)."""

    device_id: str
    since: int
    tries: int


def paycode_write(row: PayCodeRow) -> Write:
    """The pay code as it stands now."""
    return upsert("app_paycodes", row, "digest")


def charge_write(row: ChargeRow) -> Write:
    """The charge as it stands now."""
    return upsert("app_charges", row, "id")


def tries_write(row: TriesRow) -> Write:
    """A payee device's wrong tries as they stand now."""
    return upsert("app_paycode_tries", row, "device_id")


PAYCODES_SINCE = select("app_paycodes", PayCodeRow._fields, "expires > ?")
CHARGES_SINCE = select("app_charges", ChargeRow._fields, "expires > ?")
TRIES_SINCE = select("app_paycode_tries", TriesRow._fields, "since > ?")


def paycode_of(values: tuple[object, ...]) -> PayCodeRow:
    """A pay code row read back."""
    t = [str(value) for value in values]
    return PayCodeRow(t[0], t[1], t[2], t[3], int(t[4]), int(t[5]), int(t[6]))


def charge_of(values: tuple[object, ...]) -> ChargeRow:
    """A charge row read back."""
    t = [str(value) for value in values]
    return ChargeRow(
        t[0], t[1], t[2], t[3], t[4], int(t[5]), t[6], t[7], t[8], t[9], int(t[10]), int(t[11]),
        int(t[12]),
    )  # fmt: skip


def tries_of(values: tuple[object, ...]) -> TriesRow:
    """A tries row read back."""
    t = [str(value) for value in values]
    return TriesRow(t[0], int(t[1]), int(t[2]))
