"""Shared pieces of the ledger tests: account shapes, fresh stores, raw SQL access."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from mkoba.ledger import AccountFlags, Balance, Engine
from mkoba.ledger.store.postgres import split_url
from tests.conftest import POSTGRES_URL, require_postgres

WALLET = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
MIRROR = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
NS_PER_S = 1_000_000_000


def state_of(engine: Engine) -> tuple[Any, ...]:
    """Everything a transfer may change in an engine: balances, ids, pins, pending statuses."""
    return (
        {account_id: state.balance() for account_id, state in engine.accounts.items()},
        dict(engine.transfer_ids),
        dict(engine.failed_ids),
        {pending_id: pending.status for pending_id, pending in engine.pendings.items()},
    )


def credit_balances(balances: Sequence[Balance | None]) -> list[int]:
    """Posted credits less posted debits of each account (all must exist)."""
    result = []
    for balance in balances:
        assert balance is not None
        result.append(balance.credit_balance)
    return result


@contextmanager
def fresh_store_url(kind: str) -> Iterator[str]:
    """An empty store of ``kind`` ("sqlite" or "postgresql"), removed afterwards.

    For tests that need more than one store per test function (Hypothesis examples).
    """
    if kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="mkoba-ledger-")
        try:
            yield str(Path(directory) / "ledger.db")
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    require_postgres()
    schema = f"mkoba_test_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{POSTGRES_URL}?schema={schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def raw_execute(url: str, statement: str, params: Sequence[object] = ()) -> None:
    """Run one statement on a connection of its own, as a tamperer would (``?`` marks)."""
    if url.startswith("postgresql://"):
        dsn, schema = split_url(url)
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f"SET search_path TO {schema}")
            connection.execute(statement.replace("?", "%s").encode(), params)
        return
    connection = sqlite3.connect(url, isolation_level=None)
    try:
        connection.execute(statement, params)
    finally:
        connection.close()


def wait_for_backend_gone(backend_pid: int, timeout_s: float = 10.0) -> None:
    """Wait until a killed client's PostgreSQL backend has finished (and so committed or not).

    A SIGKILLed writer's backend may still be completing a COMMIT it received; a new
    writer must not load the store before that settles.
    """
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        while time.monotonic() < deadline:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (backend_pid,)
            ).fetchone()
            assert row is not None
            if row[0] == 0:
                return
            time.sleep(0.02)
    raise AssertionError(f"backend {backend_pid} still alive after {timeout_s} s")
