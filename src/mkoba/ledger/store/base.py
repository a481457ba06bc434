"""The store interface: what the ledger writer needs from a database, and nothing more.

A store persists accounts, transfer records, pinned failures and checkpointed
balances, and lets the writer attach other rows (receipts, outbox messages) to
the same database transaction, so that a business record and its money commit
together or not at all. Two implementations: SQLite (sqlite.py) and
PostgreSQL (postgres.py).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Protocol

from mkoba.ledger.account import Account, Balance
from mkoba.ledger.records import Changes, FailureRecord
from mkoba.ledger.transfer import TransferRecord

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class WriteMode(enum.StrEnum):
    """How a ``Write`` lands in its table."""

    # A new row (a duplicate key fails the whole batch).
    INSERT = "insert"
    # Insert, or update the row whose ``keys`` columns match.
    UPSERT = "upsert"
    # Set the non-key ``columns`` of the rows whose ``keys`` match (the key columns are
    # among ``columns``, their values in ``values``).
    UPDATE = "update"


class Write(NamedTuple):
    """A row for another table, committed in the same database transaction as the money."""

    table: str
    columns: tuple[str, ...]
    values: tuple[object, ...]
    keys: tuple[str, ...] = ()
    mode: WriteMode = WriteMode.INSERT


def check_identifier(name: str) -> str:
    """``name`` if it is a plain lower-case SQL identifier; ``ValueError`` otherwise."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


class StoredAccount(NamedTuple):
    """An account as stored: the account, its current flags, its checkpointed balance."""

    account: Account
    flags: int
    balance: Balance


class Commit(NamedTuple):
    """Everything one writer batch commits in one database transaction."""

    changes: Changes
    writes: Sequence[Write]
    # Balances of changed accounts, and the timestamp they are exact at; None: no checkpoint.
    balances: Sequence[tuple[int, int, int, int, int]]
    checkpoint: int | None


class CommitPipe(Protocol):
    """Commits that do not block: send batches, then read their answers, in order.

    A store offers one (``commit_pipe()``) when a writer on an event loop can hand
    it batches and learn of their commits from a readable file descriptor.
    """

    def fileno(self) -> int:
        """Readable when the oldest batch sent has its answer."""

    def send(self, batch: Commit) -> None:
        """Hand over one batch; ``StoreError`` if the pipe is broken."""

    def answer(self) -> None:
        """The oldest batch's answer: return once it committed, ``StoreError`` if not."""


# What a failed commit means for its batch (``StoreError.fault``).
# The batch's own rows cannot be stored (a duplicate key, a text or an int the database
# cannot hold): it rolled back, and a batch without those rows can commit.
FAULT_DATA = "data"
# The database failed (unreachable, full, an I/O error, the commit process died): the
# batch may or may not have committed, and the next one may fail too.
FAULT_STORE = "store"
# The batch was never tried: one sent before it failed, or it could not be handed over.
FAULT_UNTRIED = "untried"
# The writer lost its lease to another (``LeaseLost``): the batch did not commit, and
# this writer must never commit again.
FAULT_FENCED = "fenced"


class StoreError(Exception):
    """The store failed or holds data the ledger cannot trust (infrastructure, not input).

    ``fault`` says what a failed commit means for its batch (``FAULT_*``). The message
    names tables, columns, constraints and kinds of error, never a row's values: those
    can hold secrets.
    """

    def __init__(self, message: str, fault: str = FAULT_STORE) -> None:
        super().__init__(message)
        self.fault = fault


class LeaseLost(StoreError):
    """Another writer holds the ledger's lease now (``token``, 0: unknown): stop for good.

    Not a fault of the batch nor a passing one of the store: the batch was not
    committed, and no batch of this writer will ever be (lease.py).
    """

    def __init__(self, token: int, ours: int) -> None:
        if token:
            message = f"lost the ledger lease to token {token}"
        else:
            message = f"lost the ledger lease: token {ours} was not renewed before it expired"
        super().__init__(message, FAULT_FENCED)
        self.token = token
        self.ours = ours


class Store(Protocol):
    """What the ledger writer and the reconciler need from a database."""

    url: str
    # The database runs inside this process (SQLite): a small read costs less than a
    # hop to a thread. False for a server (PostgreSQL), where a read waits on the network.
    embedded: bool

    def migrate(self) -> None:
        """Create the ledger's tables if they are missing."""

    def acquire_lease(self) -> None:
        """Become this store's one writer, or raise ``StoreError`` if another one is.

        Two writers on one ledger would each trust their own memory and diverge;
        the lease is released when the store is closed or its process dies.
        """

    def migrate_script(self, name: str, sql: str) -> None:
        """Run a named schema script once (other packages' tables), recorded by name."""

    def commit(self, batch: Commit) -> None:
        """Write one batch in one database transaction, durably, or raise."""

    def commit_pipe(self) -> CommitPipe | None:
        """Commits without waiting, for a writer on an event loop; None if not offered."""

    def recover(self) -> None:
        """After a failed commit, once no batch is in flight: be ready to commit again.

        Ends any transaction left open, reconnects (retaking the lease) or starts a new
        commit process where the old one is gone, or raises ``StoreError``.
        """

    def health(self) -> dict[str, object]:
        """What /health may show of the store's own parts; cheap, it is polled."""

    def load_accounts(self) -> Iterator[StoredAccount]:
        """Every account, in creation order."""

    def load_records(self, after: int = 0) -> Iterator[TransferRecord]:
        """Every transfer record with a timestamp above ``after``, in timestamp order."""

    def load_failures(self) -> Iterator[FailureRecord]:
        """Every failure pinned to its id."""

    def checkpoint(self) -> int:
        """The timestamp the stored balances are exact at (0: never checkpointed)."""

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query written with ``?`` placeholders."""

    def snapshot(self) -> Snapshot:
        """A read-only view in which every query sees the same committed state."""

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run one statement in its own transaction (admin paths, not the money path)."""

    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> Store: ...

    def __exit__(self, *exc: object) -> None: ...


class Snapshot(Protocol):
    """A consistent read transaction, used as a context manager."""

    def __enter__(self) -> Snapshot: ...

    def __exit__(self, *exc: object) -> None: ...

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query, all from the same snapshot."""
