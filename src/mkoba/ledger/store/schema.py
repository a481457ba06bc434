"""The ledger's tables, in each store's dialect.

Transfers and failures are append-only: triggers reject UPDATE and DELETE, and
CHECK constraints repeat the engine's rules (positive amounts, two different
accounts), so a bug or a hand-written statement cannot unbalance the books.
"""

from __future__ import annotations

_TRANSFER_COLUMNS = """
    debit_account_id {big} NOT NULL,
    credit_account_id {big} NOT NULL,
    amount {big} NOT NULL CHECK (amount > 0),
    ledger INTEGER NOT NULL CHECK (ledger > 0),
    code INTEGER NOT NULL CHECK (code >= 0),
    flags INTEGER NOT NULL,
    pending_id {big} NOT NULL,
    timeout_s {big} NOT NULL,
    user_data {big} NOT NULL,
    CHECK (debit_account_id <> credit_account_id)"""

_ACCOUNTS = """
CREATE TABLE IF NOT EXISTS ledger_accounts (
    id {big} PRIMARY KEY CHECK (id > 0),
    ledger INTEGER NOT NULL CHECK (ledger > 0),
    currency TEXT NOT NULL,
    kind INTEGER NOT NULL,
    created_flags INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    overdraft_limit {big} NOT NULL CHECK (overdraft_limit >= 0),
    balance_max {big},
    code INTEGER NOT NULL,
    user_data {big} NOT NULL,
    created {big} NOT NULL,
    debits_pending {big} NOT NULL DEFAULT 0,
    debits_posted {big} NOT NULL DEFAULT 0,
    credits_pending {big} NOT NULL DEFAULT 0,
    credits_posted {big} NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ledger_meta (
    key TEXT PRIMARY KEY,
    value {big} NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_migrations (
    name TEXT PRIMARY KEY
);
"""

SQLITE = (
    _ACCOUNTS
    + """
CREATE TABLE IF NOT EXISTS ledger_transfers (
    timestamp INTEGER PRIMARY KEY,
    id INTEGER UNIQUE CHECK (id > 0),"""
    + _TRANSFER_COLUMNS
    + """,
    CHECK (id IS NOT NULL OR flags = 16)
);
CREATE INDEX IF NOT EXISTS ledger_transfers_pending ON ledger_transfers (pending_id)
    WHERE pending_id <> 0;


CREATE TABLE IF NOT EXISTS ledger_failures (
    id INTEGER PRIMARY KEY CHECK (id > 0),
    timestamp INTEGER NOT NULL,
    result INTEGER NOT NULL,
    debit_account_id INTEGER NOT NULL,
    credit_account_id INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    ledger INTEGER NOT NULL,
    code INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    pending_id INTEGER NOT NULL,
    timeout_s INTEGER NOT NULL,
    user_data INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers
BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers
BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_failures_no_update BEFORE UPDATE ON ledger_failures
BEGIN SELECT RAISE(ABORT, 'ledger_failures is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_failures_no_delete BEFORE DELETE ON ledger_failures
BEGIN SELECT RAISE(ABORT, 'ledger_failures is append-only'); END;
"""
).format(big="INTEGER")

POSTGRES = (
    _ACCOUNTS
    + """
CREATE TABLE IF NOT EXISTS ledger_transfers (
    timestamp BIGINT PRIMARY KEY,
    id BIGINT UNIQUE CHECK (id > 0),"""
    + _TRANSFER_COLUMNS
    + """,
    CHECK (id IS NOT NULL OR flags = 16)
);
CREATE INDEX IF NOT EXISTS ledger_transfers_pending ON ledger_transfers (pending_id)
    WHERE pending_id <> 0;


CREATE TABLE IF NOT EXISTS ledger_failures (
    id BIGINT PRIMARY KEY CHECK (id > 0),
    timestamp BIGINT NOT NULL,
    result INTEGER NOT NULL,
    debit_account_id BIGINT NOT NULL,
    credit_account_id BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    ledger BIGINT NOT NULL,
    code BIGINT NOT NULL,
    flags INTEGER NOT NULL,
    pending_id BIGINT NOT NULL,
    timeout_s BIGINT NOT NULL,
    user_data BIGINT NOT NULL
);
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
END $$;
DROP TRIGGER IF EXISTS ledger_transfers_append_only ON ledger_transfers;
CREATE TRIGGER ledger_transfers_append_only BEFORE UPDATE OR DELETE ON ledger_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
DROP TRIGGER IF EXISTS ledger_failures_append_only ON ledger_failures;
CREATE TRIGGER ledger_failures_append_only BEFORE UPDATE OR DELETE ON ledger_failures
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
"""
).format(big="BIGINT")

TRANSFER_COLUMNS = (
    "timestamp",
    "id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "ledger",
    "code",
    "flags",
    "pending_id",
    "timeout_s",
    "user_data",
)
FAILURE_COLUMNS = (
    "timestamp",
    "id",
    "result",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "ledger",
    "code",
    "flags",
    "pending_id",
    "timeout_s",
    "user_data",
)
ACCOUNT_COLUMNS = (
    "id",
    "ledger",
    "currency",
    "kind",
    "created_flags",
    "flags",
    "overdraft_limit",
    "balance_max",
    "code",
    "user_data",
    "created",
)
