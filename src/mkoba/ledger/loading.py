"""Loading the ledger: the engine rebuilt from the store and checked against its checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from mkoba.ledger import invariants
from mkoba.ledger.engine import Engine
from mkoba.ledger.records import FailureRecord
from mkoba.ledger.store.base import StoredAccount, StoreError
from mkoba.ledger.transfer import TransferRecord


class Source(Protocol):
    """What a load reads: a store, or a standby's snapshot of one (``warm.py``)."""

    def load_accounts(self) -> Iterator[StoredAccount]:
        """Every account, in creation order."""

    def load_records(self, after: int = 0) -> Iterator[TransferRecord]:
        """Every transfer record after ``after``, in timestamp order."""

    def load_failures(self) -> Iterator[FailureRecord]:
        """Every failure pinned to its id."""

    def checkpoint(self) -> int:
        """The timestamp the stored balances are exact at (0: never checkpointed)."""


def load(store: Source, engine: Engine) -> None:
    """Rebuild ``engine`` from ``store`` and check it against the stored checkpoint.

    Raises ``StoreError`` when the stored balances disagree with the transfers
    they came from, or when an invariant does not hold.
    """
    stored = list(store.load_accounts())
    for entry in stored:
        engine.replay_account(entry.account, entry.flags)
    checkpoint = store.checkpoint()
    checked = False
    for record in store.load_records():
        if not checked and record.timestamp > checkpoint:
            _check_checkpoint(engine, stored, checkpoint)
            checked = True
        engine.replay_record(record)
    if not checked:
        _check_checkpoint(engine, stored, checkpoint)
    for failure in store.load_failures():
        engine.replay_failure(failure)
    assert not any(engine.take_changes())
    problems = invariants.violations(engine.accounts.values())
    if problems:
        raise StoreError(f"the stored ledger breaks its invariants: {problems[:5]}")


def _check_checkpoint(engine: Engine, stored: list[Any], checkpoint: int) -> None:
    """Every checkpointed balance must equal the sum of the transfers up to it.

    Equal, it need not be written again: only the records after the checkpoint make
    an account dirty. Else the first checkpoint after a load rewrote every account
    (a million rows, one transaction of over 10 s holding the lease's row, which a
    standby took for a hung holder and ended).
    """
    for entry in stored:
        state = engine.accounts[entry.account.id]
        replayed = state.balance()
        if replayed != entry.balance:
            raise StoreError(
                f"account {entry.account.id}: stored balance {tuple(entry.balance)} at checkpoint"
                f" {checkpoint} != {tuple(replayed)} from its transfers"
            )
        state.dirty = False
