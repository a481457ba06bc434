"""A warm standby's ledger equals a cold load's after it takes over, on PostgreSQL.

Writer A holds the lease and commits; a standby (its own store, no lease) loads the
ledger warm, follows A, and A keeps committing after each step: new accounts (one
with no transfer yet), closes and reopens, pending transfers posted, voided and
expired, failures pinned to their ids, checkpoints. A then stops renewing its lease
(as a hung core does); the standby's writer takes the lease over and catches up
instead of loading. Its engine is compared field by field with an engine loaded
cold from the same store; then it commits under its own token: a transfer A had
committed is not applied again, and A's own commit is refused by its fence.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from mkoba.ledger import (
    Account,
    AccountKind,
    Engine,
    LedgerWriter,
    Transfer,
    TransferFlags,
    TransferResult,
    WriterError,
)
from mkoba.ledger.loading import load
from mkoba.ledger.store.postgres import PostgresStore
from mkoba.ledger.warm import WarmLedger
from tests.ledger.helpers import MIRROR, WALLET, wait_until

pytestmark = pytest.mark.postgres

R = TransferResult
PENDING = TransferFlags.PENDING
POST = TransferFlags.POST_PENDING
VOID = TransferFlags.VOID_PENDING
TRUST, ALICE, BOB, CAROL, DAVE, EVE = 1, 2, 3, 4, 5, 6
TTL_S = 1.5


def wallet(account_id: int) -> Account:
    return Account(account_id, 1, "KES", AccountKind.EMONEY, WALLET)


def full_state(engine: Engine) -> dict[str, Any]:
    """Everything an engine holds that a decision may read."""
    return {
        "accounts": {
            i: (state.account, state.flags, state.balance()) for i, state in engine.accounts.items()
        },
        "transfer_ids": dict(engine.transfer_ids),
        "failed_ids": dict(engine.failed_ids),
        "pendings": {i: (p.record, p.status, p.expires_at) for i, p in engine.pendings.items()},
        # Live ones: a writer drops an entry once its pending is resolved.
        "expiries": sorted(
            entry for entry in engine._expiries if engine.pendings[entry[1]].status == 0
        ),
        "timestamp": engine.timestamp,
    }


def ok(writer: LedgerWriter, *transfers: Transfer) -> None:
    assert writer.submit(list(transfers)).result(10) == [R.OK] * len(transfers)


def test_the_standby_takes_over_with_the_engine_a_cold_load_builds(postgres_url: str) -> None:
    active = LedgerWriter(PostgresStore(postgres_url, lease_s=TTL_S)).start()
    standby_store = PostgresStore(postgres_url, lease_s=TTL_S)
    warm = WarmLedger(standby_store.tail())
    taken: LedgerWriter | None = None
    try:
        trust = Account(TRUST, 1, "KES", AccountKind.TRUST, MIRROR)
        results = active.create_accounts([trust, wallet(ALICE), wallet(BOB), wallet(CAROL)])
        assert all(result.ok for result in results.result(10))
        ok(active, Transfer(10, TRUST, ALICE, 100_000, 1), Transfer(11, ALICE, BOB, 5_000, 1))
        ok(active, Transfer(12, ALICE, BOB, 700, 1, flags=PENDING, timeout_s=3600))
        ok(active, Transfer(13, ALICE, CAROL, 900, 1, flags=PENDING, timeout_s=3600))
        assert active.submit([Transfer(14, BOB, ALICE, 10**9, 1)]).result(10) == [R.EXCEEDS_CREDITS]
        assert active.set_closed(CAROL, True).result(10).ok
        active.checkpoint().result(10)

        warm.load()  # under A's lease: the standby holds nothing
        assert standby_store.lease.token == 0
        loaded = warm.engine.timestamp

        # After the warm load: a new account with money, one without, a post, a void,
        # a pending that expires, a reopen and a close, another pinned failure.
        assert all(r.ok for r in active.create_accounts([wallet(DAVE), wallet(EVE)]).result(10))
        ok(active, Transfer(20, TRUST, EVE, 30_000, 1))
        ok(
            active,
            Transfer(21, ALICE, BOB, 700, 1, flags=TransferFlags.POST_PENDING, pending_id=12),
        )
        ok(active, Transfer(22, ALICE, BOB, 50, 1, flags=PENDING, timeout_s=1))
        assert warm.follow() > 0  # some of it while standing by
        assert warm.engine.timestamp > loaded
        assert active.set_closed(CAROL, False).result(10).ok
        ok(
            active,
            Transfer(23, ALICE, CAROL, 900, 1, flags=TransferFlags.VOID_PENDING, pending_id=13),
        )
        assert active.set_closed(BOB, True).result(10).ok
        assert active.submit([Transfer(24, EVE, ALICE, 10**8, 1)]).result(10) == [R.EXCEEDS_CREDITS]
        wait_until(lambda: active.read(lambda e: e.pendings[22].status).result(10) != 0, 10)
        ok(active, Transfer(25, EVE, ALICE, 1_000, 1))
        active.checkpoint().result(10)
        ok(active, Transfer(26, ALICE, EVE, 10, 1))
        ok(active, Transfer(27, ALICE, DAVE, 5, 1, flags=PENDING, timeout_s=3600))

        # A hangs: it stops renewing; the standby takes the lease and catches up.
        active.store.lease.stop_renewing()  # type: ignore[attr-defined]
        time.sleep(TTL_S + 0.2)
        taken = LedgerWriter(standby_store, warm=warm).start()
        assert standby_store.lease.token == 2

        cold = Engine()
        with PostgresStore(postgres_url) as reader:
            load(reader, cold)
        assert taken.read(full_state).result(10) == full_state(cold)
        assert full_state(cold)["expiries"]  # the pending still running

        # Nothing applied twice; new money moves under the new token; A is fenced.
        assert taken.submit([Transfer(26, ALICE, EVE, 10, 1)]).result(10) == [R.EXISTS]
        assert taken.submit([Transfer(24, EVE, ALICE, 10**8, 1)]).result(10) == [R.EXCEEDS_CREDITS]
        ok(taken, Transfer(30, EVE, DAVE, 500, 1))
        with pytest.raises(WriterError):
            active.submit([Transfer(31, ALICE, DAVE, 1, 1)]).result(10)
        assert taken.read(lambda e: 31 not in e.transfer_ids).result(10)
    finally:
        warm.tail.close()
        if taken is not None:
            taken.stop()
        else:
            standby_store.close()
        active.stop()
