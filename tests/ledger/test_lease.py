"""The ledger's lease on PostgreSQL: one writer at a time, and a fenced one commits nothing.

Two writers on one schema, as a core and its standby: the second cannot take the
lease while the first renews it; once the first stops renewing (as a hung core
does), the second takes it over within the lease's time with the next token, and
the first's next commit is refused inside its own transaction: none of its rows
land, checked with SQL on a connection of the test's own. A holder stuck in the
middle of a transaction (its row lock held) does not hold a takeover back either.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
import pytest

from mkoba.ledger import (
    Account,
    AccountKind,
    LedgerWriter,
    StoreError,
    Transfer,
    TransferResult,
    WriterError,
)
from mkoba.ledger.store.base import LeaseLost
from mkoba.ledger.store.lease import configure
from mkoba.ledger.store.postgres import PostgresStore, split_url
from tests.conftest import POSTGRES_URL, require_postgres
from tests.ledger.helpers import WALLET, wait_until

pytestmark = pytest.mark.postgres

R = TransferResult
TRUST, ALICE, BOB = 1, 2, 3
ACCOUNTS = [
    Account(TRUST, 1, "KES", AccountKind.TRUST),
    Account(ALICE, 1, "KES", AccountKind.EMONEY, WALLET),
    Account(BOB, 1, "KES", AccountKind.EMONEY, WALLET),
]
# Short, so the test waits out expiries in seconds; the default is 5 s.
TTL_S = 1.5


def sql(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of one statement, on a connection of the test's own."""
    dsn, schema = split_url(url)
    with psycopg.connect(dsn, autocommit=True) as connection:
        if schema is not None:
            connection.execute(f"SET search_path TO {schema}")
        return connection.execute(statement, params).fetchall()


def lease_row(url: str) -> tuple[str, int]:
    ((holder, token),) = sql(url, "SELECT holder, token FROM ledger_lease")
    return str(holder), int(token)


def take_within(store: PostgresStore, timeout_s: float) -> float:
    """Poll for the lease as a standby does (every 0.1 s): how long it took."""
    started = time.monotonic()
    while not store.lease.try_take().held:
        assert time.monotonic() - started < timeout_s, "the standby never took the lease"
        time.sleep(0.1)
    return time.monotonic() - started


def test_a_standby_takes_over_a_silent_writer_which_then_commits_nothing(
    postgres_url: str,
) -> None:
    store = PostgresStore(postgres_url, lease_s=TTL_S)
    first = LedgerWriter(store).start()
    second = PostgresStore(postgres_url, lease_s=TTL_S)
    try:
        first.create_accounts(ACCOUNTS).result(10)
        assert first.submit([Transfer(10, TRUST, ALICE, 1_000, 1)]).result(10) == [R.OK]
        holder, token = lease_row(postgres_url)
        assert (holder, token) == (store.lease.holder, 1)
        # Two and a half lease times: the first's heartbeat keeps it, idle as it is.
        deadline = time.monotonic() + 2.5 * TTL_S
        while time.monotonic() < deadline:
            state = second.lease.try_take()
            assert not state.held, state
            assert (state.holder, state.token) == (holder, 1)
            time.sleep(0.1)
        # A starting writer is refused (it saw the holder renew), not left waiting.
        with (
            PostgresStore(postgres_url, lease_s=TTL_S) as third,
            pytest.raises(StoreError, match="another ledger writer is running"),
        ):
            third.acquire_lease()

        store.lease.stop_renewing()  # as a hung core
        taken_s = take_within(second, 2 * TTL_S)
        print(f"\ntaken over {taken_s:.2f} s after the holder stopped renewing (ttl {TTL_S} s)")
        assert taken_s <= TTL_S + 0.5
        assert lease_row(postgres_url) == (second.lease.holder, 2)

        # The first writer still believes it owns the ledger: its next batch is fenced.
        with pytest.raises(WriterError, match="lost its lease") as refused:
            first.submit([Transfer(11, ALICE, BOB, 100, 1)]).result(10)
        assert isinstance(refused.value.__cause__, LeaseLost)
        assert refused.value.__cause__.token == 2
        assert first.health()["state"] == "failed"
        with pytest.raises(WriterError, match="failed"):
            first.submit([Transfer(12, ALICE, BOB, 100, 1)]).result(10)
        assert sql(postgres_url, "SELECT id FROM ledger_transfers ORDER BY id") == [(10,)]
        # The store itself refuses too, on any write, inside the transaction.
        with pytest.raises(LeaseLost):
            store.execute("INSERT INTO ledger_meta (key, value) VALUES ('x', 1)")
        assert sql(postgres_url, "SELECT 1 FROM ledger_meta WHERE key = 'x'") == []
        assert lease_row(postgres_url) == (second.lease.holder, 2)

        # The new holder starts a writer on the same store: the books as committed.
        with LedgerWriter(second) as successor:
            (alice,) = successor.balances([ALICE]).result(10)
            assert alice is not None
            assert alice.credit_balance == 1_000
            assert successor.submit([Transfer(13, ALICE, BOB, 100, 1)]).result(10) == [R.OK]
        assert sql(postgres_url, "SELECT id FROM ledger_transfers ORDER BY id") == [(10,), (13,)]
    finally:
        first.stop()
        second.close()


def test_a_commit_racing_a_takeover_is_fenced_inside_its_transaction(
    postgres_url: str,
) -> None:
    """READ COMMITTED: the takeover commits first; the old writer's renewal matches no row."""
    first = PostgresStore(postgres_url, lease_s=TTL_S)
    second = PostgresStore(postgres_url, lease_s=TTL_S)
    try:
        first.acquire_lease()
        first.migrate()
        first.lease.stop_renewing()
        dsn, schema = split_url(postgres_url)
        with psycopg.connect(dsn, autocommit=True) as racer:
            racer.execute(f"SET search_path TO {schema}")
            # The lease expires; a takeover is in flight (row locked, not yet committed).
            wait_until(lambda: sql(postgres_url, "SELECT expires < now() FROM ledger_lease")[0][0])
            racer.execute("BEGIN")
            racer.execute(
                "UPDATE ledger_lease SET token = token + 1, holder = 'racer'"
                " WHERE expires < clock_timestamp()"
            )
            fenced: list[BaseException] = []

            def commit() -> None:
                try:
                    first.execute("INSERT INTO ledger_meta (key, value) VALUES ('raced', 1)")
                except BaseException as error:
                    fenced.append(error)

            committing = threading.Thread(target=commit)
            committing.start()
            # The old writer's renewal waits for the takeover's row lock...
            wait_until(lambda: _waiting_on_a_lock(first), timeout_s=5)
            racer.execute("COMMIT")  # ...and, once it commits, matches no row.
            committing.join(10)
        assert len(fenced) == 1
        assert isinstance(fenced[0], LeaseLost)
        assert sql(postgres_url, "SELECT 1 FROM ledger_meta WHERE key = 'raced'") == []
        assert lease_row(postgres_url) == ("racer", 2)
    finally:
        first.close()
        second.close()


def _waiting_on_a_lock(store: PostgresStore) -> bool:
    name = f"mkoba ledger writer {store.lease.holder.rsplit(':', 1)[-1]}"
    rows = sql(
        store.url,
        "SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
        (name,),
    )
    return bool(rows)


def test_a_holder_stuck_mid_transaction_does_not_hold_a_takeover_back(
    postgres_url: str,
) -> None:
    """A core stopped while sending COPY data keeps its row lock; the standby ends it."""
    first = PostgresStore(postgres_url, lease_s=TTL_S)
    second = PostgresStore(postgres_url, lease_s=TTL_S)
    dsn, schema = split_url(postgres_url)
    stuck = psycopg.connect(dsn, autocommit=True)
    try:
        first.acquire_lease()
        acquired = time.monotonic()
        first.migrate()
        first.lease.stop_renewing()
        # The first writer's session, mid-commit: its fence renewed (row locked) and a
        # COPY waits for data that never comes (active, not idle: no idle timeout ends it).
        stuck.execute(f"SET search_path TO {schema}")
        configure(stuck, first.lease.holder)
        stuck.execute("BEGIN")
        stuck.execute(
            "UPDATE ledger_lease SET expires = clock_timestamp() + interval '1.5 seconds'"
            " WHERE token = 1"
        )
        # Leaving the block sends the row and ends the COPY: the session is gone by then.
        with (
            pytest.raises(psycopg.OperationalError),
            stuck.cursor().copy("COPY ledger_meta (key, value) FROM STDIN") as copy,
        ):
            copy.write_row(("stuck", 1))
            take_within(second, 4 * TTL_S)
        taken_s = time.monotonic() - acquired
        print(f"\ntaken over from a stuck holder {taken_s:.2f} s after it took the lease")
        # Not before the lease had expired for a whole ttl more; soon after that.
        assert 2 * TTL_S <= taken_s <= 2 * TTL_S + 2.5
    finally:
        stuck.close()
        first.close()
        second.close()
    assert lease_row(postgres_url) == (second.lease.holder, 2)
    assert sql(postgres_url, "SELECT 1 FROM ledger_meta WHERE key = 'stuck'") == []


def test_a_writer_that_cannot_renew_past_the_expiry_fences_itself() -> None:
    """The server goes away: once the lease has expired unrenewed, the writer stops for good.

    Another writer may hold the ledger by then, so nothing of this one may commit
    again, even once the server is back and nobody took the lease.
    """
    require_postgres()
    name = f"mkoba_lease_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(POSTGRES_URL, autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"

    def cut_off(allow: bool) -> None:
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(allow).lower()}")
        if not allow:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )

    store = PostgresStore(url, lease_s=TTL_S)
    told: list[LeaseLost] = []
    store.lease.on_lost = told.append
    writer = LedgerWriter(store).start()
    try:
        writer.create_accounts(ACCOUNTS).result(10)
        assert writer.submit([Transfer(10, TRUST, ALICE, 1_000, 1)]).result(10) == [R.OK]
        assert store.lease.fresh()
        cut_off(allow=False)
        started = time.monotonic()
        wait_until(lambda: told, timeout_s=3 * TTL_S)
        lost_s = time.monotonic() - started
        print(f"\nfenced itself {lost_s:.2f} s after the server went away (ttl {TTL_S} s)")
        assert lost_s <= TTL_S + 1.0
        (lost,) = told
        assert "not renewed before it expired" in str(lost)
        assert not store.lease.fresh()  # what a validation server hosted here asks
        assert store.health()["lease"] == {"state": "lost", "token": 1, "lost_to": 0}
        cut_off(allow=True)
        with pytest.raises(WriterError):
            writer.submit([Transfer(11, ALICE, BOB, 100, 1)]).result(10)
        wait_until(lambda: writer.health()["state"] == "failed")
        with pytest.raises(WriterError, match="failed"):
            writer.submit([Transfer(12, ALICE, BOB, 100, 1)]).result(10)
        assert sql(url, "SELECT id FROM ledger_transfers ORDER BY id") == [(10,)]
        assert len(told) == 1  # told once
    finally:
        writer.stop()
        cut_off(allow=True)
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()
