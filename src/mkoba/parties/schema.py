"""The parties' tables, in SQL both stores accept."""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS parties (
    id BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    msisdn TEXT UNIQUE,
    number TEXT,
    parent_id BIGINT NOT NULL,
    state TEXT NOT NULL,
    kyc_tier TEXT,
    language TEXT NOT NULL,
    tariff TEXT,
    created BIGINT NOT NULL,
    id_digest TEXT,
    UNIQUE (kind, number)
);
CREATE TABLE IF NOT EXISTS party_accounts (
    party_id BIGINT NOT NULL,
    purpose INTEGER NOT NULL,
    account_id BIGINT NOT NULL UNIQUE,
    PRIMARY KEY (party_id, purpose)
);
CREATE TABLE IF NOT EXISTS party_roles (
    party_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    scope_id BIGINT NOT NULL,
    PRIMARY KEY (party_id, role, scope_id)
);
CREATE TABLE IF NOT EXISTS pin_credentials (
    party_id BIGINT PRIMARY KEY,
    verifier TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL,
    locked INTEGER NOT NULL,
    must_change INTEGER NOT NULL,
    changed BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_id BIGINT NOT NULL,
    action TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_subject ON audit_log (subject_id, at);
"""

PARTY_COLUMNS = (
    "id",
    "kind",
    "name",
    "msisdn",
    "number",
    "parent_id",
    "state",
    "kyc_tier",
    "language",
    "tariff",
    "created",
    "id_digest",
)
CREDENTIAL_COLUMNS = ("party_id", "verifier", "failed_attempts", "locked", "must_change", "changed")
