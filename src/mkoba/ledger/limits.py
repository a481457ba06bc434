"""Named limits of the ledger, with units last. Every loop and queue is bounded by one."""

from __future__ import annotations

# Ids and amounts are signed 64-bit in both stores (SQLite INTEGER, PostgreSQL BIGINT).
# Ids are assigned by the platform (see ids.py), so 63 bits of id space is plenty.
id_max = 2**63 - 1
amount_max = 2**63 - 1
# A balance counter (and an overdraft limit) stays at or below this, or the transfer
# fails with OVERFLOWS_BALANCE. Half of BIGINT, so that pending plus posted debits,
# each at most this, can never overflow a 64-bit column either.
balance_max = 2**62 - 1
ledger_max = 2**31 - 1
code_max = 2**31 - 1
user_data_max = 2**63 - 1
# A pending transfer may reserve funds for at most thirty days.
pending_timeout_s_max = 30 * 24 * 3600

# Transfers applied and committed in one store transaction (TigerBeetle's batch size).
batch_transfers_max = 8190
# Commands waiting for the writer before submitters are pushed back.
queue_commands_max = 65536
# How often the writer writes the balances it has changed to the store. A restart
# replays the whole transfer log anyway, so this only bounds how stale the stored
# balances (read by reconcile and SQL reports) may be; each costs about 2 us an account.
checkpoint_interval_s = 30.0

assert batch_transfers_max <= queue_commands_max
assert 0 < checkpoint_interval_s <= 300
