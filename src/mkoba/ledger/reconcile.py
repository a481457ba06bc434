"""Reconciliation: check a store's books with SQL, independently of the engine that wrote them.

Every check reads one consistent snapshot. Stored balances are checkpoints, exact
as of the checkpoint timestamp, so they are compared with the transfers up to
that moment; the replay check then rebuilds the whole ledger, as a restarting
writer would, and compares again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from mkoba.ledger import invariants
from mkoba.ledger.account import AccountState, Balance
from mkoba.ledger.engine import Engine
from mkoba.ledger.store.base import Snapshot, Store, StoredAccount, StoreError
from mkoba.ledger.store.sql import SELECT_ACCOUNTS, stored_account
from mkoba.ledger.transfer import TransferFlags

_PENDING = int(TransferFlags.PENDING)
_RESOLVING = int(TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING | TransferFlags.EXPIRY)
_NOT_POSTED = int(TransferFlags.PENDING | TransferFlags.VOID_PENDING | TransferFlags.EXPIRY)
# Problems listed per check; the count is always exact.
problems_shown_max = 20


class Check(NamedTuple):
    """One reconciliation check: what it looked at and what it found wrong."""

    name: str
    description: str
    checked: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        """True when the check found nothing wrong."""
        return not self.problems


class Report(NamedTuple):
    """All checks over one store."""

    store: str
    checkpoint: int
    transfers: int
    checks: list[Check]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(check.ok for check in self.checks)


# ``r.pending_id <> 0`` is implied (ids are positive) but lets SQLite use the partial index
# on pending_id; without it each pending transfer scanned the log (quadratic).
_SUMS = f"""
SELECT account, SUM(debits_posted), SUM(credits_posted), SUM(debits_pending), SUM(credits_pending)
FROM (
    SELECT debit_account_id AS account, amount AS debits_posted, 0 AS credits_posted,
           0 AS debits_pending, 0 AS credits_pending
    FROM ledger_transfers WHERE timestamp <= ? AND (flags & {_NOT_POSTED}) = 0
    UNION ALL
    SELECT credit_account_id, 0, amount, 0, 0
    FROM ledger_transfers WHERE timestamp <= ? AND (flags & {_NOT_POSTED}) = 0
    UNION ALL
    SELECT debit_account_id, 0, 0, amount, 0 FROM ledger_transfers AS p
    WHERE timestamp <= ? AND (flags & {_PENDING}) <> 0 AND NOT EXISTS (
        SELECT 1 FROM ledger_transfers AS r WHERE r.pending_id = p.id AND r.pending_id <> 0
        AND (r.flags & {_RESOLVING}) <> 0 AND r.timestamp <= ?)
    UNION ALL
    SELECT credit_account_id, 0, 0, 0, amount FROM ledger_transfers AS p
    WHERE timestamp <= ? AND (flags & {_PENDING}) <> 0 AND NOT EXISTS (
        SELECT 1 FROM ledger_transfers AS r WHERE r.pending_id = p.id AND r.pending_id <> 0
        AND (r.flags & {_RESOLVING}) <> 0 AND r.timestamp <= ?)
) AS legs
GROUP BY account
"""

_DOUBLE_RESOLUTIONS = f"""
SELECT pending_id, COUNT(*) FROM ledger_transfers WHERE (flags & {_RESOLVING}) <> 0
GROUP BY pending_id HAVING COUNT(*) > 1
"""

_BAD_RESOLUTIONS = f"""
SELECT r.timestamp, r.pending_id FROM ledger_transfers AS r
LEFT JOIN ledger_transfers AS p ON p.id = r.pending_id
WHERE (r.flags & {_RESOLVING}) <> 0 AND (
    p.id IS NULL OR (p.flags & {_PENDING}) = 0
    OR p.debit_account_id <> r.debit_account_id OR p.credit_account_id <> r.credit_account_id
    OR r.amount > p.amount OR r.timestamp <= p.timestamp
    OR ((r.flags & {int(TransferFlags.VOID_PENDING | TransferFlags.EXPIRY)}) <> 0
        AND r.amount <> p.amount)
    OR ((r.flags & {int(TransferFlags.EXPIRY)}) <> 0
        AND (p.timeout_s = 0 OR r.timestamp < p.timestamp + p.timeout_s * 1000000000))
    OR ((r.flags & {int(TransferFlags.POST_PENDING)}) <> 0 AND p.timeout_s > 0
        AND r.timestamp >= p.timestamp + p.timeout_s * 1000000000)
)
"""

_BAD_ACCOUNTS = """
SELECT t.timestamp, t.id FROM ledger_transfers AS t
LEFT JOIN ledger_accounts AS d ON d.id = t.debit_account_id
LEFT JOIN ledger_accounts AS c ON c.id = t.credit_account_id
WHERE d.id IS NULL OR c.id IS NULL OR d.ledger <> t.ledger OR c.ledger <> t.ledger
   OR d.currency <> c.currency
"""


def reconcile(store: Store, progress: Callable[[str], None] | None = None) -> Report:
    """Run every check on ``store`` and say what each found."""
    say = progress or (lambda _: None)
    with store.snapshot() as snapshot:
        checkpoint = _checkpoint(snapshot)
        count_row = snapshot.query("SELECT COUNT(*) FROM ledger_transfers")
        transfers = int(count_row[0][0])
        stored = [stored_account(row) for row in snapshot.query(SELECT_ACCOUNTS)]
        say("invariants over stored balances")
        states = []
        for entry in stored:
            state = AccountState(entry.account, entry.balance)
            state.set_flags(entry.flags)
            states.append(state)
        checks = [_check_invariants(states)]
        say("balances against the sum of their transfers")
        checks.append(_check_sums(snapshot, stored, checkpoint))
        say("pending transfers and their resolutions")
        checks.append(_check_resolutions(snapshot))
        say("transfers against their accounts")
        checks.append(_check_transfer_accounts(snapshot, transfers))
    say("replay of the whole log, as a restarting writer would")
    checks.append(_check_replay(store))
    return Report(store.url, checkpoint, transfers, checks)


def _checkpoint(snapshot: Snapshot) -> int:
    rows = snapshot.query("SELECT value FROM ledger_meta WHERE key = 'checkpoint'")
    return int(rows[0][0]) if rows else 0


def _check_invariants(states: list[AccountState]) -> Check:
    problems = invariants.violations(states)
    return Check(
        "invariants",
        "double entry per ledger and currency (posted and pending), balance limits,"
        " e-money in circulation equals the trust mirror",
        len(states),
        problems,
    )


def _check_sums(snapshot: Snapshot, stored: list[StoredAccount], checkpoint: int) -> Check:
    sums: dict[int, Balance] = {}
    for row in snapshot.query(_SUMS, (checkpoint,) * 6):
        account_id, debits_posted, credits_posted, debits_pending, credits_pending = (
            int(value or 0) for value in row
        )
        sums[account_id] = Balance(debits_pending, debits_posted, credits_pending, credits_posted)
    problems = []
    zero = Balance(0, 0, 0, 0)
    known = set()
    for entry in stored:
        account = entry.account
        known.add(account.id)
        expected = sums.get(account.id, zero)
        if entry.balance != expected:
            problems.append(
                f"account {account.id}: stored {tuple(entry.balance)}"
                f" != transfers {tuple(expected)}"
            )
    problems.extend(f"transfers name unknown account {id}" for id in sorted(set(sums) - known))
    return Check(
        "balances",
        "every account's stored balance equals the sum of its transfers (as of the checkpoint)",
        len(stored),
        problems,
    )


def _check_resolutions(snapshot: Snapshot) -> Check:
    problems = [
        f"pending {pending_id} resolved {count} times"
        for pending_id, count in snapshot.query(_DOUBLE_RESOLUTIONS)
    ]
    problems += [
        f"resolution at {timestamp} of pending {pending_id} does not match it"
        for timestamp, pending_id in snapshot.query(_BAD_RESOLUTIONS)
    ]
    pending_rows = snapshot.query(
        f"SELECT COUNT(*) FROM ledger_transfers WHERE (flags & {_PENDING}) <> 0"
    )
    return Check(
        "pending",
        "each pending transfer is posted, voided or expired at most once, within its timeout,"
        " for no more than it reserved",
        int(pending_rows[0][0]),
        problems,
    )


def _check_transfer_accounts(snapshot: Snapshot, transfers: int) -> Check:
    problems = [
        f"transfer {id} at {timestamp}: accounts missing or of another ledger or currency"
        for timestamp, id in snapshot.query(_BAD_ACCOUNTS)
    ]
    return Check(
        "accounts",
        "every transfer names two existing accounts of its ledger and one currency",
        transfers,
        problems,
    )


def _check_replay(store: Store) -> Check:
    from mkoba.ledger.loading import load
    from mkoba.ledger.store import open_store

    engine = Engine()
    # A connection of its own: the store may be a running writer's.
    replica = open_store(store.url)
    try:
        load(replica, engine)
    except StoreError as error:
        return Check("replay", "replaying the log reproduces the checkpoint", 0, [str(error)])
    finally:
        replica.close()
    return Check(
        "replay",
        "replaying the whole log reproduces every checkpointed balance and keeps every invariant",
        len(engine.transfer_ids),
        [],
    )
