"""When a commit fails: the writer settles the casualty, rebuilds the engine, and goes on.

The rare path of ``writer.LedgerWriter`` ("When a commit fails" in
docs/ledger.md): once every batch in flight is settled, the engine is rebuilt
from the store in place (its memory was ahead), the command that could not be
stored fails (a batch of several is decided again one command at a time to find
it), and every other command that did not commit is decided again. While the
store cannot be rebuilt, or keeps failing, commands fail at once and the writer
retries with a growing pause.
"""

from __future__ import annotations

import collections
import queue
import time
from typing import NamedTuple

from mkoba.ledger.commands import _FAULT_DECIDE, _STOP, WriterError, _Command, _resolve
from mkoba.ledger.engine import Engine
from mkoba.ledger.loading import load
from mkoba.ledger.store.base import (
    FAULT_DATA,
    FAULT_FENCED,
    FAULT_STORE,
    FAULT_UNTRIED,
    LeaseLost,
    Store,
    StoreError,
)

# After a failure that freed no culprit (the store failed, or cannot be rebuilt), the
# writer fails commands at once for this long before it tries again, doubling the
# pause at each such failure in a row up to the most; a commit ends the series.
recovery_pause_first_s = 0.05
recovery_pause_max_s = 5.0
# Failures in a row that freed no culprit and committed nothing, after which the
# writer pauses instead of rebuilding at once: the first may be a commit process
# that died, the second says the store itself fails.
fruitless_failures_max = 2
# A failure's text as ``health()`` shows it, at most.
failure_chars_max = 200

# Commands that write. A read, a sweep, a checkpoint or stop cannot be why a batch's
# rows failed, so they are always decided again.
_WRITING = frozenset({"transfers", "accounts", "closed"})
_BECAUSE = {
    FAULT_DATA: "the ledger could not store this command's rows: none of it was committed",
    FAULT_STORE: (
        "the ledger store failed while committing this command: it may or may not have committed"
    ),
    _FAULT_DECIDE: "deciding this command raised: none of it was committed",
    FAULT_FENCED: "the ledger writer lost its lease to another writer: none of it was committed",
}


class _Casualty(NamedTuple):
    """The first batch that failed since the engine last agreed with the store."""

    error: BaseException
    batch: list[_Command]
    fault: str
    culprit: _Command | None


class Recovery:
    """The writer's recovery, as a part of ``LedgerWriter`` (its state lives there)."""

    store: Store
    engine: Engine
    _queue: queue.Queue[_Command]
    _carry: _Command | None
    _failure: BaseException | None
    _last_checkpoint: float
    _broken: bool
    _casualty: _Casualty | None
    _later: list[_Command]
    _redo: collections.deque[_Command]
    _suspects: set[_Command]
    _recovering: bool
    _down: StoreError | None
    _fruitless: int
    _pause_s: float
    recoveries: int
    last_failure: str

    def _barrier(self) -> None:
        raise NotImplementedError

    def _note_failure(
        self,
        error: BaseException,
        batch: list[_Command],
        fault: str | None = None,
        culprit: _Command | None = None,
    ) -> None:
        """A batch failed. The first since the last rebuild is the casualty; any after it
        was decided on memory that included the casualty, so it is decided again."""
        self._recovering = True
        if self._casualty is not None:
            self._later.extend(batch)
            return
        if fault is None:
            fault = error.fault if isinstance(error, StoreError) else FAULT_STORE
        self._casualty = _Casualty(error, batch, fault, culprit)
        self.recoveries += 1
        self.last_failure = _summary(error, fault)

    def _triage(self) -> tuple[list[_Command], list[_Command], list[WriterError]]:
        """What to decide again (oldest first), and which commands fail, with what error.

        Once nothing is in flight. Only the command whose rows cannot be stored fails
        (or that raised while decided); in a batch of several such commands nobody can
        tell which, so each is decided alone until one fails alone. A failed store
        leaves its batch's outcome unknown: those commands fail, the rest go again.
        """
        casualty, later = self._casualty, self._later
        self._casualty, self._later = None, []
        if casualty is not None and casualty.fault == FAULT_FENCED:
            return self._fenced(casualty, later)
        redo: list[_Command] = []
        failed: list[_Command] = []
        errors: list[WriterError] = []
        freed = False
        if casualty is not None:
            error, batch, fault, culprit = casualty
            writing = [command for command in batch if command.kind in _WRITING]
            if culprit is not None:
                condemned = {culprit}
            elif fault == FAULT_UNTRIED:
                condemned = set()
            elif fault == FAULT_DATA and len(writing) > 1:
                condemned = set()
                self._suspects.update(writing)
            elif fault == FAULT_DATA:
                condemned = set(writing)
            else:  # the store's fault: whether its writes committed is unknown
                condemned = set(writing)
            freed = bool(condemned) and fault in (FAULT_DATA, _FAULT_DECIDE)
            for command in batch:
                if command in condemned:
                    failure = WriterError(_BECAUSE.get(fault, _BECAUSE[FAULT_STORE]))
                    failure.__cause__ = error
                    failed.append(command)
                    errors.append(failure)
                else:
                    redo.append(command)
            # A culprit found is progress; anything else counts towards a pause.
            self._fruitless = 0 if freed else self._fruitless + 1
        redo.extend(later)
        if self._suspects:
            self._suspects.intersection_update(redo)
        return redo, failed, errors

    def _fenced(
        self, casualty: _Casualty, later: list[_Command]
    ) -> tuple[list[_Command], list[_Command], list[WriterError]]:
        """Another writer holds the lease: this one never commits again (``_failure``)."""
        self._failure = casualty.error
        condemned = [*casualty.batch, *later]
        errors = [WriterError(_BECAUSE[FAULT_FENCED]) for _ in condemned]
        for failure in errors:
            failure.__cause__ = casualty.error
        return [], condemned, errors

    def _rebuild(self) -> None:
        """Make the store commit again and the engine equal to what it holds."""
        self.store.recover()
        self.engine.clear()
        load(self.store, self.engine)
        self._last_checkpoint = time.monotonic()

    def _went_down(self, error: BaseException | None) -> StoreError:
        """The store cannot be rebuilt, or keeps failing: fail commands at once for a while."""
        if error is not None:
            self.last_failure = _summary(error, FAULT_STORE)
        down = StoreError(self.last_failure or "the ledger store failed")
        self._down = down
        self._recovering = True
        return down

    def _next_pause_s(self) -> float:
        pause = self._pause_s
        self._pause_s = min(recovery_pause_max_s, pause * 2)
        return pause

    def _recover(self) -> bool:
        """On the writer thread: settle what failed, rebuild, and go on (or sit out).

        False when ``stop`` came while the store could not be rebuilt.
        """
        self._barrier()  # every batch handed over has committed or joined the casualties
        redo, failed, errors = self._triage()
        _resolve(failed, errors, failed=True)
        if self._failure is not None:  # fenced: stop for good
            raise self._failure
        must_pause = self._fruitless >= fruitless_failures_max
        self._broken = False
        while True:
            if must_pause:
                if not self._sit_out(redo, self._went_down(None)):
                    return False
                redo = []
            try:
                self._rebuild()
            except LeaseLost:  # another writer may hold the ledger: stop for good
                self._redo.extendleft(reversed(redo))  # failed with the writer
                raise
            except Exception as error:  # the store is gone, or disagrees with itself
                self._went_down(error)
                must_pause = True
                continue
            break
        self._down = None
        self._recovering = False
        self._redo.extendleft(reversed(redo))
        return True

    def _sit_out(self, waiting: list[_Command], down: StoreError) -> bool:
        """Fail every command for one pause; False if ``stop`` came meanwhile."""
        waiting = [*waiting, *self._redo]
        self._redo.clear()
        if self._carry is not None:
            waiting.append(self._carry)
            self._carry = None
        if not self._fail_down(waiting, down):
            return False
        deadline = time.monotonic() + self._next_pause_s()
        while (left := deadline - time.monotonic()) > 0:
            try:
                command = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if not self._fail_down([command], down):
                return False
        return True

    def _fail_down(self, commands: list[_Command], down: StoreError) -> bool:
        """Fail ``commands`` as unavailable; False if one of them is ``stop``."""
        stop = [command for command in commands if command.kind == _STOP]
        others = [command for command in commands if command.kind != _STOP]
        errors = []
        for _ in others:
            failure = WriterError("the ledger store is unavailable; try again")
            failure.__cause__ = down
            errors.append(failure)
        _resolve(others, errors, failed=True)
        _resolve(stop, [None] * len(stop), failed=False)
        return not stop

    def _fail(self, error: BaseException, batch: list[_Command]) -> None:
        if self._failure is None:
            self._failure = error
        failures = []
        for _ in batch:
            failure = WriterError("the ledger writer failed")
            failure.__cause__ = error
            failures.append(failure)
        _resolve(batch, failures, failed=True)

    def _fail_queued(self) -> None:
        batch = [*self._redo, *([self._carry] if self._carry is not None else [])]
        self._redo.clear()
        self._carry = None
        while True:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        _resolve(batch, [WriterError("the ledger writer stopped") for _ in batch], failed=True)


def _summary(error: BaseException, fault: str) -> str:
    """A failure as ``health()`` shows it: the store's own words, else only its kind.

    A store's message is built without row values; any other exception's text may
    hold anything, so only its type is kept.
    """
    if isinstance(error, StoreError):
        text = str(error)
    elif fault == _FAULT_DECIDE:
        text = f"deciding a command raised {type(error).__name__}"
    else:
        text = type(error).__name__
    return text[:failure_chars_max]
