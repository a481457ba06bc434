"""The validation server's tables: enrolments, device bindings, payment-code tokens.

Owned by this package alone (``app_`` tables); written only through
``Tables.submit`` (the ledger writer, in order with the money), read at start
and on a cache miss. Rows are whole: each change writes the row as the server
holds it now (``UPSERT``), so a row is always one state the server answered from.
No secret in clear: a one-time code is kept as its keyed digest, a token as its
keyed digest (``keys.py``); a device's public key is public.
"""

from __future__ import annotations

from typing import NamedTuple

from mkoba.channels.app.validation import charge_rows
from mkoba.channels.app.validation.rows import select, upsert
from mkoba.ledger import Write
from mkoba.ports import Tables

MIGRATION = "app-0001"
SCHEMA = """
CREATE TABLE IF NOT EXISTS app_enrolments (
    id TEXT PRIMARY KEY,
    msisdn TEXT NOT NULL,
    digest TEXT NOT NULL,
    state TEXT NOT NULL,
    tries INTEGER NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS app_enrolments_created ON app_enrolments (created);
CREATE TABLE IF NOT EXISTS app_devices (
    id TEXT PRIMARY KEY,
    msisdn TEXT NOT NULL,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    counter BIGINT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS app_devices_msisdn ON app_devices (msisdn, state);
CREATE TABLE IF NOT EXISTS app_tokens (
    digest TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    msisdn TEXT NOT NULL,
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    name TEXT NOT NULL,
    amount BIGINT NOT NULL,
    reference TEXT NOT NULL,
    expires BIGINT NOT NULL,
    state TEXT NOT NULL,
    request_id TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS app_tokens_expires ON app_tokens (expires);
"""
# The tables, for the composition root (rows a front may have the core commit).
OWN_TABLES = ("app_enrolments", "app_devices", "app_tokens", *charge_rows.OWN_TABLES)


def migrate(tables: Tables) -> None:
    """Make the validation server's tables ("app-0001", "app-0002") where they are missing."""
    tables.migrate_script(MIGRATION, SCHEMA)
    tables.migrate_script(charge_rows.MIGRATION, charge_rows.SCHEMA)


# Enrolment states: waiting for its code; code right (waiting for the PIN and the key);
# bound (used up); dead after too many wrong codes.
OPEN = "open"
CONFIRMED = "confirmed"
USED = "used"
DEAD = "dead"
# Device states.
ACTIVE = "active"
ENDED = "ended"
# Token states: payable; taken by one payment in TranProc's hands; paid; withdrawn (the
# payee's binding ended).
PAYABLE = "open"
PENDING = "pending"
PAID = "paid"
WITHDRAWN = "withdrawn"


class EnrolmentRow(NamedTuple):
    """An enrolment: the number, the code's digest, where it stands, its wrong tries."""

    id: str
    msisdn: str
    digest: str
    state: str
    tries: int
    created: int
    expires: int
    updated: int


class DeviceRow(NamedTuple):
    """A device binding: the phone, its key (SPKI DER, base64url), its last counter."""

    id: str
    msisdn: str
    name: str
    public_key: str
    counter: int
    state: str
    reason: str
    created: int
    updated: int


class TokenRow(NamedTuple):
    """A dynamic code's token (by digest), the payee's device and what the code said."""

    digest: str
    device_id: str
    msisdn: str
    kind: str
    number: str
    name: str
    amount: int
    reference: str
    expires: int
    state: str
    request_id: str
    created: int
    updated: int


def enrolment_write(row: EnrolmentRow) -> Write:
    """The enrolment as it stands now."""
    return upsert("app_enrolments", row, "id")


def device_write(row: DeviceRow) -> Write:
    """The binding as it stands now."""
    return upsert("app_devices", row, "id")


def token_write(row: TokenRow) -> Write:
    """The token as it stands now."""
    return upsert("app_tokens", row, "digest")


ENROLMENTS_SINCE = select("app_enrolments", EnrolmentRow._fields, "created > ?")
DEVICE_BY_ID = select("app_devices", DeviceRow._fields, "id = ?")
DEVICES_OF = select("app_devices", DeviceRow._fields, "msisdn = ? AND state = 'active'")
TOKENS_SINCE = select("app_tokens", TokenRow._fields, "expires > ?")


def enrolment_of(values: tuple[object, ...]) -> EnrolmentRow:
    """An enrolment row read back."""
    id_, msisdn, digest, state, tries, created, expires, updated = values
    return EnrolmentRow(
        str(id_),
        str(msisdn),
        str(digest),
        str(state),
        int(str(tries)),
        int(str(created)),
        int(str(expires)),
        int(str(updated)),
    )


def device_of(values: tuple[object, ...]) -> DeviceRow:
    """A device row read back."""
    id_, msisdn, name, key, counter, state, reason, created, updated = values
    return DeviceRow(
        str(id_),
        str(msisdn),
        str(name),
        str(key),
        int(str(counter)),
        str(state),
        str(reason),
        int(str(created)),
        int(str(updated)),
    )


def token_of(values: tuple[object, ...]) -> TokenRow:
    """A token row read back."""
    t = [str(value) for value in values]
    return TokenRow(
        t[0], t[1], t[2], t[3], t[4], t[5], int(t[6]), t[7], int(t[8]), t[9], t[10], int(t[11]),
        int(t[12]),
    )  # fmt: skip
