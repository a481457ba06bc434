"""Shared pieces of the ledger tests: account shapes, fresh stores, raw SQL access."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg

from mkoba.ledger import AccountFlags, Balance, Engine, LedgerWriter, open_store
from mkoba.ledger.loop_writer import LoopWriter
from mkoba.ledger.store.base import Commit
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


# The writers a failure must not stop: on the event loop with SQLite's commit process,
# on threads with it, on threads committing SQLite themselves, on threads with PostgreSQL.
WRITER_MODES = ["loop", "process", "thread", "postgresql"]


def wait_until(predicate: Callable[[], object], timeout_s: float = 10.0) -> None:
    """Poll ``predicate`` until it is true; AssertionError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s} s")
        time.sleep(0.005)


class WriterHarness:
    """One writer of a mode, driven from the test's thread, whose batches the test shapes.

    ``one_batch`` makes everything submitted inside it one batch; ``commits_held``
    keeps batches from committing (the commit process stopped with SIGSTOP, or the
    committer held before ``store.commit``), so a second batch is decided while the
    first is in flight.
    """

    def __init__(self, mode: str, url: str) -> None:
        self.mode = mode
        self.url = url
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._flowing = threading.Event()
        self._flowing.set()
        self._stopped_pid = 0

    def start(self, **options: Any) -> LedgerWriter:
        """A started writer on ``url`` (the loop, if any, runs on a thread of its own)."""
        store = open_store(self.url, commit_process=self.mode != "thread")
        if self.mode == "loop":
            if self.loop is None:
                self.loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
                self._thread.start()
            writer: LedgerWriter = LoopWriter(store, self.loop, **options).start()
        else:
            writer = LedgerWriter(store, **options).start()
            commit = store.commit

            def held_commit(batch: Commit) -> None:
                assert self._flowing.wait(30)
                commit(batch)

            store.commit = held_commit  # type: ignore[method-assign]
        return writer

    def close(self) -> None:
        """Stop the loop thread, if any (after its writers stopped)."""
        self._resume_child()
        if self.loop is not None and self._thread is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()
            self.loop = None

    @contextmanager
    def one_batch(self, writer: LedgerWriter) -> Iterator[None]:
        """Everything submitted inside is decided as one batch, when the block ends."""
        entered, gate = threading.Event(), threading.Event()

        def block(*_: object) -> None:
            entered.set()
            assert gate.wait(30)

        before = writer.batches
        if self.loop is not None:
            self.loop.call_soon_threadsafe(block)
            expected = before + 1
        else:
            writer.read(block)
            expected = before + 2  # the read's own batch, then what came inside
        assert entered.wait(10)
        try:
            yield
        finally:
            gate.set()
        wait_until(lambda: writer.batches >= expected)

    @contextmanager
    def commits_held(self, writer: LedgerWriter) -> Iterator[None]:
        """No batch commits inside (each is decided and handed over), until the block ends."""
        child = getattr(writer.store, "_child", None)
        if child is not None:
            self._stopped_pid = child._process.pid
            os.kill(self._stopped_pid, signal.SIGSTOP)
        else:
            self._flowing.clear()
        try:
            yield
        finally:
            self._resume_child()
            self._flowing.set()

    def _resume_child(self) -> None:
        if self._stopped_pid:
            with suppress(ProcessLookupError):
                os.kill(self._stopped_pid, signal.SIGCONT)
            self._stopped_pid = 0


def exception_text(error: BaseException) -> str:
    """What a log would print of ``error``: its traceback and every cause shown with it."""
    return "".join(traceback.format_exception(error))
