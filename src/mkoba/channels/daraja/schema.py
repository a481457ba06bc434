"""The Daraja channel's tables, in SQL both stores accept.

Secrets are never stored in clear: consumer secrets, initiator passwords and
tokens as keyed verifiers, passkeys sealed under the channel's key (they must
be read back to check STK passwords). The key lives in ``keys_dir``.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS daraja_apps (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    consumer_key TEXT NOT NULL UNIQUE,
    secret_verifier TEXT NOT NULL,
    products TEXT NOT NULL,
    state TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS daraja_shortcodes (
    shortcode TEXT PRIMARY KEY,
    app_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    party_id BIGINT NOT NULL,
    passkey TEXT NOT NULL,
    external_validation INTEGER NOT NULL,
    updated BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS daraja_initiators (
    app_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    verifier TEXT NOT NULL,
    roles TEXT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (app_id, name)
);
CREATE TABLE IF NOT EXISTS daraja_urls (
    shortcode TEXT PRIMARY KEY,
    app_id BIGINT NOT NULL,
    version TEXT NOT NULL,
    response_type TEXT NOT NULL,
    confirmation_url TEXT NOT NULL,
    validation_url TEXT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS daraja_tokens (
    digest TEXT PRIMARY KEY,
    app_id BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS daraja_prompts (
    checkout_id TEXT PRIMARY KEY,
    merchant_request_id TEXT NOT NULL,
    app_id BIGINT NOT NULL,
    shortcode TEXT NOT NULL,
    party_b TEXT NOT NULL,
    kind TEXT NOT NULL,
    msisdn TEXT NOT NULL,
    amount BIGINT NOT NULL,
    account TEXT NOT NULL,
    description TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    state TEXT NOT NULL,
    result_code TEXT NOT NULL,
    result_desc TEXT NOT NULL,
    receipt TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS daraja_prompts_open ON daraja_prompts (state)
    WHERE state IN ('pending', 'answering');
CREATE TABLE IF NOT EXISTS daraja_conversations (
    conversation_id TEXT PRIMARY KEY,
    originator_id TEXT NOT NULL,
    app_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    shortcode TEXT NOT NULL,
    initiator TEXT NOT NULL,
    params TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result_url TEXT NOT NULL,
    timeout_url TEXT NOT NULL,
    state TEXT NOT NULL,
    result_code TEXT NOT NULL,
    receipt TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    UNIQUE (app_id, originator_id)
);
CREATE INDEX IF NOT EXISTS daraja_conversations_open ON daraja_conversations (state)
    WHERE state = 'accepted';
CREATE TABLE IF NOT EXISTS daraja_deliveries (
    id BIGINT PRIMARY KEY,
    outbox_id BIGINT NOT NULL,
    app_id BIGINT NOT NULL,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at BIGINT NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT NOT NULL,
    elapsed_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS daraja_deliveries_app ON daraja_deliveries (app_id, at);
CREATE INDEX IF NOT EXISTS daraja_deliveries_outbox ON daraja_deliveries (outbox_id);
CREATE TABLE IF NOT EXISTS daraja_pull (
    shortcode TEXT PRIMARY KEY,
    app_id BIGINT NOT NULL,
    nominated TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    updated BIGINT NOT NULL
);
"""

APP_COLUMNS = (
    "id",
    "name",
    "consumer_key",
    "secret_verifier",
    "products",
    "state",
    "created",
    "updated",
)
SHORTCODE_COLUMNS = (
    "shortcode",
    "app_id",
    "kind",
    "party_id",
    "passkey",
    "external_validation",
    "updated",
)
INITIATOR_COLUMNS = ("app_id", "name", "verifier", "roles", "updated")
URL_COLUMNS = (
    "shortcode",
    "app_id",
    "version",
    "response_type",
    "confirmation_url",
    "validation_url",
    "updated",
)
# Which front owns an open prompt or conversation (its ``Fronts`` name; "" in one process):
# another front finishes it only once the owner is gone (ownership.py).
OWNERS_MIGRATION = "daraja-0002-owners"
OWNERS = """
ALTER TABLE daraja_prompts ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE daraja_conversations ADD COLUMN owner TEXT NOT NULL DEFAULT '';
"""
PROMPT_COLUMNS = (
    "checkout_id",
    "merchant_request_id",
    "app_id",
    "shortcode",
    "party_b",
    "kind",
    "msisdn",
    "amount",
    "account",
    "description",
    "callback_url",
    "state",
    "result_code",
    "result_desc",
    "receipt",
    "created",
    "expires",
    "updated",
)
CONVERSATION_COLUMNS = (
    "conversation_id",
    "originator_id",
    "app_id",
    "kind",
    "shortcode",
    "initiator",
    "params",
    "fingerprint",
    "result_url",
    "timeout_url",
    "state",
    "result_code",
    "receipt",
    "created",
    "updated",
)
DELIVERY_COLUMNS = (
    "id",
    "outbox_id",
    "app_id",
    "url",
    "kind",
    "attempt",
    "at",
    "status",
    "outcome",
    "error",
    "elapsed_ms",
)
PULL_COLUMNS = ("shortcode", "app_id", "nominated", "callback_url", "updated")
