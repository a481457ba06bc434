"""The baseline a ledger is usually measured against: a table of balances and row locks.

This is the common SQL ledger. Each payment is its own database transaction; the
benchmark gives it one transfer per payment (the issue's baseline: each transfer
in its own transaction), though it can apply a LINKED pair together. The transaction
locks the accounts' rows in id order (PostgreSQL: SELECT ... FOR UPDATE; SQLite:
BEGIN IMMEDIATE, because it has no row locks), reads their balances, checks
funds, updates both sides of each transfer, inserts the transfer rows and
commits. Durability matches the ledger's: SQLite in WAL mode with
synchronous=FULL, PostgreSQL with synchronous_commit as the server sets it (on
by default). Its tables share the ledger's database file or schema, so it runs
on the same store.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import psycopg
import psycopg.errors

from mkoba.bench.workload import FEE_ACCOUNT_ID
from mkoba.ledger import Transfer
from mkoba.ledger.store.postgres import connect

Payment = Sequence[Transfer]
Progress = Callable[[int], None]

_CREATE = """
CREATE TABLE bench_naive_accounts (
    id {big} PRIMARY KEY,
    balance {big} NOT NULL CHECK (balance >= 0)
);
CREATE TABLE bench_naive_transfers (
    id {big} PRIMARY KEY,
    debit_account_id {big} NOT NULL,
    credit_account_id {big} NOT NULL,
    amount {big} NOT NULL CHECK (amount > 0),
    ledger INTEGER NOT NULL,
    code INTEGER NOT NULL,
    timestamp {big} NOT NULL
)
"""
_DEBIT = "UPDATE bench_naive_accounts SET balance = balance - {mark} WHERE id = {mark}"
_CREDIT = "UPDATE bench_naive_accounts SET balance = balance + {mark} WHERE id = {mark}"
_INSERT = (
    "INSERT INTO bench_naive_transfers"
    " (id, debit_account_id, credit_account_id, amount, ledger, code, timestamp)"
    " VALUES ({mark}, {mark}, {mark}, {mark}, {mark}, {mark}, {mark})"
)
# A deadlock or serialization failure is retried, as an application would, this often.
payment_retries_max = 100
# How many payments a client applies between two progress reports.
progress_payments = 64
# SQLite waits this long for a lock held by another connection.
sqlite_busy_timeout_ms = 10_000


class NaiveError(Exception):
    """The naive ledger refused a payment the benchmark expected to succeed."""


class NaiveLedger(Protocol):
    """A table-of-balances ledger, applying payments one database transaction each."""

    clients: int

    def create(self, balances: Sequence[tuple[int, int]]) -> None:
        """Create the tables, with these (account id, balance) rows, fee account included."""

    def apply(
        self, payments: Sequence[Payment], progress: Progress, stop_at: float
    ) -> tuple[int, int]:
        """Apply payments, each in a transaction of its own, until ``stop_at`` (perf_counter).

        Returns how many payments were applied, and the retries they took.
        """

    def close(self) -> None:
        """Close the connections."""


def _funds_needed(payment: Payment) -> dict[int, int]:
    """What each debited account must hold for the payment to go through."""
    needed: dict[int, int] = {}
    for transfer in payment:
        needed[transfer.debit_account_id] = (
            needed.get(transfer.debit_account_id, 0) + transfer.amount
        )
    assert needed
    return needed


def _locked_ids(payment: Payment) -> list[int]:
    """Every account the payment touches, in id order: the order rows are locked in."""
    ids = {transfer.debit_account_id for transfer in payment}
    ids.update(transfer.credit_account_id for transfer in payment)
    assert len(ids) >= 2
    return sorted(ids)


def _check_funds(payment: Payment, balances: dict[int, int]) -> None:
    for account_id, needed in _funds_needed(payment).items():
        if balances[account_id] < needed:
            raise NaiveError(
                f"account {account_id} cannot pay {needed} (holds {balances[account_id]})"
            )


class SqliteNaive:
    """The naive ledger on one SQLite connection: SQLite serialises writers anyway."""

    clients = 1

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(
            path,
            isolation_level=None,
            check_same_thread=False,
            timeout=sqlite_busy_timeout_ms / 1000,
        )
        # The ledger store's own durability: WAL, and every commit fsynced.
        self._connection.execute("PRAGMA journal_mode = WAL")
        self._connection.execute("PRAGMA synchronous = FULL")
        synchronous = self._connection.execute("PRAGMA synchronous").fetchone()[0]
        assert synchronous == 2, f"synchronous is {synchronous}, not FULL"
        self._debit = _DEBIT.replace("{mark}", "?")
        self._credit = _CREDIT.replace("{mark}", "?")
        self._insert = _INSERT.replace("{mark}", "?")

    def create(self, balances: Sequence[tuple[int, int]]) -> None:
        """Create the tables and their balances in one transaction."""
        assert any(account_id == FEE_ACCOUNT_ID for account_id, _ in balances)
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        for statement in _CREATE.format(big="INTEGER").split(";"):
            connection.execute(statement)
        connection.executemany("INSERT INTO bench_naive_accounts VALUES (?, ?)", balances)
        connection.execute("COMMIT")

    def apply(
        self, payments: Sequence[Payment], progress: Progress, stop_at: float
    ) -> tuple[int, int]:
        """Apply payments, each in a BEGIN IMMEDIATE ... COMMIT of its own, until ``stop_at``."""
        applied = 0
        for payment in payments:
            self._apply_one(payment)
            applied += 1
            if applied % progress_payments == 0:
                progress(progress_payments)
                if time.perf_counter() >= stop_at:
                    break
        progress(applied % progress_payments)
        return applied, 0

    def _apply_one(self, payment: Payment) -> None:
        execute = self._connection.execute
        ids = _locked_ids(payment)
        marks = ", ".join("?" * len(ids))
        execute("BEGIN IMMEDIATE")
        try:
            rows = execute(
                f"SELECT id, balance FROM bench_naive_accounts WHERE id IN ({marks}) ORDER BY id",
                ids,
            ).fetchall()
            _check_funds(payment, dict(rows))
            for transfer in payment:
                execute(self._debit, (transfer.amount, transfer.debit_account_id))
                execute(self._credit, (transfer.amount, transfer.credit_account_id))
                execute(self._insert, _transfer_row(transfer))
            execute("COMMIT")
        except BaseException:
            execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


class PostgresNaive:
    """The naive ledger on PostgreSQL: ``clients`` connections, each on its own thread."""

    def __init__(self, dsn: str, schema: str, clients: int) -> None:
        assert clients > 0
        self.clients = clients
        self._connections = [connect(dsn, schema) for _ in range(clients)]
        self._debit = _DEBIT.replace("{mark}", "%s")
        self._credit = _CREDIT.replace("{mark}", "%s")
        self._insert = _INSERT.replace("{mark}", "%s")

    def create(self, balances: Sequence[tuple[int, int]]) -> None:
        """Create the tables and copy the balances in."""
        assert any(account_id == FEE_ACCOUNT_ID for account_id, _ in balances)
        connection = self._connections[0]
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute(_CREATE.format(big="BIGINT").encode())
            with cursor.copy("COPY bench_naive_accounts (id, balance) FROM STDIN") as copy:
                for row in balances:
                    copy.write_row(row)
            cursor.execute("ANALYZE bench_naive_accounts")

    def apply(
        self, payments: Sequence[Payment], progress: Progress, stop_at: float
    ) -> tuple[int, int]:
        """Deal the payments round-robin to the clients; each stops at ``stop_at``."""
        outcomes = [(0, 0)] * self.clients
        errors: list[BaseException] = []

        def client(number: int) -> None:
            try:
                outcomes[number] = self._client(
                    self._connections[number],
                    payments[number :: self.clients],
                    progress,
                    stop_at,
                )
            except BaseException as error:
                errors.append(error)

        threads = [
            threading.Thread(target=client, args=(number,), name=f"naive-client-{number}")
            for number in range(self.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise NaiveError(f"{len(errors)} naive clients failed") from errors[0]
        return sum(applied for applied, _ in outcomes), sum(retries for _, retries in outcomes)

    def _client(
        self,
        connection: psycopg.Connection,
        payments: Sequence[Payment],
        progress: Progress,
        stop_at: float,
    ) -> tuple[int, int]:
        applied = retries = 0
        for payment in payments:
            for attempt in range(payment_retries_max + 1):
                try:
                    self._apply_one(connection, payment)
                    break
                except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                    if attempt == payment_retries_max:
                        raise
                    retries += 1
            applied += 1
            if applied % progress_payments == 0:
                progress(progress_payments)
                if time.perf_counter() >= stop_at:
                    break
        progress(applied % progress_payments)
        return applied, retries

    def _apply_one(self, connection: psycopg.Connection, payment: Payment) -> None:
        with connection.transaction():
            rows = connection.execute(
                "SELECT id, balance FROM bench_naive_accounts WHERE id = ANY(%s)"
                " ORDER BY id FOR UPDATE",
                (_locked_ids(payment),),
            ).fetchall()
            _check_funds(payment, dict(rows))
            for transfer in payment:
                connection.execute(self._debit, (transfer.amount, transfer.debit_account_id))
                connection.execute(self._credit, (transfer.amount, transfer.credit_account_id))
                connection.execute(self._insert, _transfer_row(transfer))

    def close(self) -> None:
        """Close every client's connection."""
        for connection in self._connections:
            connection.close()


def _transfer_row(transfer: Transfer) -> tuple[int, ...]:
    return (
        transfer.id,
        transfer.debit_account_id,
        transfer.credit_account_id,
        transfer.amount,
        transfer.ledger,
        transfer.code,
        time.time_ns(),
    )
