"""The ledger writer: one thread owns the engine and group-commits batches to the store.

Callers on any thread submit commands and get a Future; callers on an event
loop may ``submit_async`` and await an asyncio future instead, resolved with
the rest of its batch in one hop to their loop. The
writer takes everything queued, up to ``batch_transfers_max`` transfers,
decides it in the engine, writes the changes and any attached rows in one
database transaction, and only then resolves the futures: an acknowledged
result is durable. A hot account costs nothing extra, because balances live
in memory and only the transfer log is written per batch; balances are
checkpointed every ``checkpoint_interval_s``.

Deciding and committing overlap: while a committer thread makes batch N
durable, the writer thread decides batch N+1. Futures, reads included, resolve
only after their own batch has committed, so nobody sees an effect that could
still be lost.

A failed commit costs its own commands, not the writer: ``recovery.py``.
Commands and their futures: ``commands.py``; loading from the store: ``loading.py``;
a standby's engine, caught up instead of loaded (``warm=``): ``warm.py``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from mkoba.ledger import invariants, limits
from mkoba.ledger.account import Account, Balance
from mkoba.ledger.commands import (
    _FAULT_DECIDE,
    _STOP,
    Attach,
    Clock,
    WriterError,
    _Command,
    _resolve,
    _Undecided,
)
from mkoba.ledger.engine import Engine
from mkoba.ledger.loading import load
from mkoba.ledger.recovery import Recovery, recovery_pause_first_s
from mkoba.ledger.results import AccountResult, TransferResult
from mkoba.ledger.store.base import Commit, Store, StoreError, Write
from mkoba.ledger.transfer import Transfer
from mkoba.ledger.warm import WarmLedger


class LedgerWriter(Recovery):
    """The single owner of the ledger's balances."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = time.time_ns,
        batch_transfers_max: int = limits.batch_transfers_max,
        checkpoint_interval_s: float = limits.checkpoint_interval_s,
        warm: WarmLedger | None = None,
    ) -> None:
        assert 0 < batch_transfers_max <= limits.batch_transfers_max
        self.store = store
        # A standby's engine, loaded before the lease: caught up instead of loaded.
        self._warm = warm
        # Whether the engine was caught up from the standby's (False: loaded here).
        self.started_warm = False
        self.clock = clock
        self.batch_transfers_max = batch_transfers_max
        self.checkpoint_interval_s = checkpoint_interval_s
        self.engine = Engine() if warm is None else warm.engine
        self._queue: queue.Queue[_Command] = queue.Queue(maxsize=limits.queue_commands_max)
        self._carry: _Command | None = None
        # Decided batches waiting to be made durable (two in flight at most), or a
        # barrier the committer sets once everything before it is settled.
        self._commits: queue.Queue[
            tuple[Commit | None, list[_Command], list[Any]] | threading.Event | None
        ] = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None
        # A bug in the writer itself: nothing it holds can be trusted any more.
        self._failure: BaseException | None = None
        self._stopping = False
        self._last_checkpoint = 0.0
        self.batches = 0
        # Recovery (the rare path). A batch failed: the committer commits nothing more
        # and keeps what it is handed for the writer to decide again.
        self._broken = False
        self._casualty = None
        self._later: list[_Command] = []
        # Commands to decide again, oldest first, before anything newer.
        self._redo: collections.deque[_Command] = collections.deque()
        # Commands of a failed batch of several, each decided in a batch of its own:
        # the one that fails alone is the one whose rows cannot be stored.
        self._suspects: set[_Command] = set()
        self._recovering = False
        # Set while the store cannot be rebuilt or keeps failing: commands fail at once.
        self._down: StoreError | None = None
        self._fruitless = 0
        self._pause_s = recovery_pause_first_s
        self.recoveries = 0
        self.last_failure = ""

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> LedgerWriter:
        """Load the ledger from the store, check it, and start taking commands."""
        self._load()
        self._start_thread()
        return self

    def _load(self) -> None:
        try:
            self.store.acquire_lease()
            self.store.migrate()
            warm, self._warm = self._warm, None
            if warm is None:
                load(self.store, self.engine)
            else:
                # Under the lease: the old writer's commits are all visible, none to come.
                assert self.engine is warm.engine and warm.loaded
                try:
                    warm.catch_up()
                    self.started_warm = True
                except StoreError:  # a failed read leaves it half caught up: load afresh
                    self.engine.clear()
                    load(self.store, self.engine)
        except BaseException:
            # The writer owns the store: a refused start must not leak its connection.
            self.store.close()
            raise
        self._last_checkpoint = time.monotonic()

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, checkpoint the balances, and release the store."""
        if self._thread is None:
            return
        if not self._stopping:
            self._stopping = True
            if self._failure is None:
                self._queue.put(_Command(_STOP, None))
            else:
                # Wake the writer thread: after a failure it may still be waiting (up to
                # checkpoint_interval_s) for a command before it sees it. A full queue
                # means it is not waiting.
                with contextlib.suppress(queue.Full):
                    self._queue.put_nowait(_Command(_STOP, None))
        self._thread.join()
        self._thread = None
        self.store.close()

    def __enter__(self) -> LedgerWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def health(self) -> dict[str, object]:
        """For /health: the writer's state and what it has been through; cheap to poll.

        ``state``: "ok"; "recovering" (a commit failed and the writer is rebuilding,
        or the store cannot be rebuilt and commands fail at once); "failed" (a bug
        in the writer: restart it); "stopped". Also ``batches`` decided,
        ``recoveries`` so far, ``last_failure`` (its kind and where, never a row's
        values), and the store's own parts (SQLite: ``commit_process`` "alive" or
        "stopped"; PostgreSQL: ``connection``).
        """
        if self._failure is not None:
            state = "failed"
        elif not self._running():
            state = "stopped"
        elif self._recovering or self._down is not None:
            state = "recovering"
        else:
            state = "ok"
        report: dict[str, object] = {
            "state": state,
            "batches": self.batches,
            "recoveries": self.recoveries,
        }
        if self.last_failure:
            report["last_failure"] = self.last_failure
        report.update(self.store.health())
        return report

    def _running(self) -> bool:
        return self._thread is not None and not self._stopping

    # -- commands ---------------------------------------------------------------------

    def submit(
        self, transfers: Sequence[Transfer], attach: Attach = None
    ) -> Future[list[TransferResult]]:
        """Apply ``transfers``; the future resolves once they are durable.

        ``attach`` is rows to commit in the same database transaction, or a
        function from the results to such rows. The function runs on the writer's
        thread (or loop) and must not raise, and it may run more than once for one
        command: when a batch fails to commit, the writer rebuilds its engine from
        the store and decides the command again, and only the last run's rows (and
        results) count. So it must only build rows from its arguments and what it
        captured, never count on running once: no appending to a list it reads
        by position, no side effect outside the rows it returns.
        A failure is ``WriterError``: the command could not be committed (its
        ``__cause__`` says why), or the writer is stopped, overloaded or waiting
        for its store.
        """
        assert len(transfers) <= self.batch_transfers_max, "split batches at batch_transfers_max"
        return self._put(_Command("transfers", transfers, attach, max(1, len(transfers))))

    def submit_async(
        self, transfers: Sequence[Transfer], attach: Attach = None
    ) -> asyncio.Future[list[TransferResult]]:
        """``submit`` for a caller on the running event loop: await the result.

        Cheaper than wrapping ``submit``'s future: the committer hands each batch's
        results to the loop at once, instead of one thread hop per command. The
        same rules hold for ``attach``.
        """
        assert len(transfers) <= self.batch_transfers_max, "split batches at batch_transfers_max"
        loop = asyncio.get_running_loop()
        command = _Command("transfers", transfers, attach, max(1, len(transfers)), loop)
        self._enqueue(command)
        assert isinstance(command.future, asyncio.Future)
        return command.future

    def create_accounts(self, accounts: Sequence[Account]) -> Future[list[AccountResult]]:
        """Create accounts; the future resolves once they are durable."""
        return self._put(_Command("accounts", accounts, None, max(1, len(accounts))))

    def set_closed(self, account_id: int, closed: bool) -> Future[AccountResult]:
        """Close an account to new transfers, or reopen it."""
        return self._put(_Command("closed", (account_id, closed)))

    def balances(self, account_ids: Sequence[int]) -> Future[list[Balance | None]]:
        """The balances of accounts as of everything submitted before this call."""
        return self._put(_Command("read", lambda engine: [engine.balance(i) for i in account_ids]))

    def read(self, function: Callable[[Engine], Any]) -> Future[Any]:
        """Run a read-only function against the engine, in order with the writes.

        Like an attach function, it may run more than once (after a failed commit).
        """
        return self._put(_Command("read", function))

    def sweep(self) -> Future[int]:
        """Expire due pending transfers now (the writer also does this on its own)."""
        return self._put(_Command("sweep", None))

    def checkpoint(self) -> Future[None]:
        """Write every changed balance to the store at the next commit."""
        return self._put(_Command("checkpoint", None))

    def _enqueue(self, command: _Command) -> None:
        self._refuse_if_unable()
        if self._stopping or self._thread is None:
            raise WriterError("the ledger writer is not running")
        try:
            self._queue.put_nowait(command)
        except queue.Full:
            raise WriterError("the ledger writer is overloaded; try again") from None

    def _refuse_if_unable(self) -> None:
        if self._failure is not None:
            raise WriterError("the ledger writer failed; restart it") from self._failure
        if self._down is not None:
            raise WriterError("the ledger store is unavailable; try again") from self._down

    def _put(self, command: _Command) -> Future[Any]:
        self._enqueue(command)
        assert isinstance(command.future, Future)
        return command.future

    # -- the writer thread: decide --------------------------------------------------

    def _run(self) -> None:
        committer = threading.Thread(target=self._commit_loop, name="ledger-committer", daemon=True)
        committer.start()
        try:
            while True:
                if self._broken:
                    if not self._recover():
                        break
                    continue
                batch = self._next_batch()
                try:
                    commit, outcomes, stop = self._decide(batch)
                except _Undecided as undecided:
                    self._barrier()  # the batches before it commit (or fail) first
                    self._note_failure(undecided.error, batch, _FAULT_DECIDE, undecided.command)
                    self._broken = True
                    continue
                self._commits.put((commit, batch, outcomes))
                if stop:
                    self._barrier()
                    if not self._broken:
                        break
        except BaseException as error:  # a bug in the writer itself: crash rather than guess
            self._failure = error
            self._fail(error, self._later + list(self._redo))
            self._later.clear()
            self._redo.clear()
        finally:
            self._commits.put(None)
            committer.join()
            self._fail_queued()

    def _barrier(self) -> None:
        """Wait until the committer has settled every batch handed to it before now."""
        done = threading.Event()
        self._commits.put(done)
        done.wait()

    def _next_batch(self) -> list[_Command]:
        if self._redo:
            return self._take_from(self._redo)
        first = self._carry
        self._carry = None
        if first is None:
            try:
                first = self._queue.get(timeout=self._idle_timeout_s())
            except queue.Empty:
                return [_Command("sweep", None)]
        batch = [first]
        size = first.size
        while size < self.batch_transfers_max and first.kind != _STOP:
            try:
                command = self._queue.get_nowait()
            except queue.Empty:
                break
            if size + command.size > self.batch_transfers_max:
                self._carry = command
                break
            batch.append(command)
            size += command.size
            if command.kind == _STOP:
                break
        return batch

    def _take_from(self, commands: collections.deque[_Command]) -> list[_Command]:
        """The next batch from ``commands``; a suspect goes alone (recovery's slow path)."""
        suspects = self._suspects
        first = commands.popleft()
        batch = [first]
        if first in suspects:
            return batch
        size = first.size
        while commands and size < self.batch_transfers_max and batch[-1].kind != _STOP:
            command = commands[0]
            if command in suspects or size + command.size > self.batch_transfers_max:
                break
            batch.append(commands.popleft())
            size += command.size
        return batch

    def _idle_timeout_s(self) -> float:
        timeout = self.checkpoint_interval_s
        expiry = self.engine.next_expiry()
        if expiry is not None:
            timeout = min(timeout, max(0.0, (expiry - self.clock()) / 1e9))
        return max(0.001, timeout)

    def _decide(self, batch: list[_Command]) -> tuple[Commit | None, list[Any], bool]:
        """Apply a batch to the engine: what to commit, each command's outcome, and stop.

        ``_Undecided`` if anything raises: the engine is then ahead of the store, and
        the command it raised in (if any) is the one to blame.
        """
        engine = self.engine
        now = self.clock()
        writes: list[Write] = []
        outcomes: list[Any] = []
        stop = force_checkpoint = False
        deciding = False
        try:
            expired = engine.expire(now)
            deciding = True
            for command in batch:
                kind = command.kind
                if kind == "transfers":
                    results = engine.create_transfers(command.payload, now)
                    attach = command.attach
                    if attach is not None:
                        writes.extend(attach(results) if callable(attach) else attach)
                    outcomes.append(results)
                elif kind == "accounts":
                    outcomes.append(engine.create_accounts(command.payload))
                elif kind == "closed":
                    outcomes.append(engine.set_closed(*command.payload))
                elif kind == "read":
                    outcomes.append(command.payload(engine))
                elif kind == "sweep":
                    outcomes.append(expired)
                else:
                    assert kind in ("checkpoint", _STOP), kind
                    force_checkpoint = True
                    stop = stop or kind == _STOP
                    outcomes.append(None)
            deciding = False
            commit = self._prepare(writes, force_checkpoint)
        except Exception as error:
            # Each command adds its outcome once decided: the next one raised.
            culprit = batch[len(outcomes)] if deciding else None
            raise _Undecided(error, culprit) from error
        self.batches += 1
        return commit, outcomes, stop

    def _prepare(self, writes: list[Write], force_checkpoint: bool) -> Commit | None:
        engine = self.engine
        changes = engine.take_changes()
        due = time.monotonic() - self._last_checkpoint >= self.checkpoint_interval_s
        checkpoint = None
        balances: list[tuple[int, int, int, int, int]] = []
        if force_checkpoint or due:
            # One scan of the accounts for those that changed. The whole books (sums
            # included) are checked when asked to checkpoint (and at stop) and at load;
            # on the clock only the changed accounts: with a million accounts the full
            # check held the writer (and every balance read behind it) for a second.
            balances = engine.take_dirty_balances()
            if force_checkpoint:
                problems = invariants.violations(engine.accounts.values())
            else:
                changed = engine.accounts
                problems = invariants.account_violations(changed[row[0]] for row in balances)
            assert not problems, problems
            self._last_checkpoint = time.monotonic()
            if balances or force_checkpoint:
                checkpoint = engine.timestamp
        if any(changes) or writes or checkpoint is not None:
            return Commit(changes, writes, balances, checkpoint)
        return None

    # -- the committer thread: make durable, then acknowledge --------------------------

    def _commit_loop(self) -> None:
        while True:
            item = self._commits.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            commit, batch, outcomes = item
            if self._failure is not None:
                self._fail(self._failure, batch)
                continue
            if self._broken:
                # A batch before this one failed: this one was decided on memory that
                # included it. Nothing of it is committed; the writer decides it again.
                self._later.extend(batch)
                continue
            try:
                if commit is not None:
                    self.store.commit(commit)
            except BaseException as error:  # the store failed: memory is ahead of it
                self._note_failure(error, batch)
                self._broken = True
                # The writer thread may be waiting for a command: recover now.
                with contextlib.suppress(queue.Full):
                    self._queue.put_nowait(_Command("sweep", None))
                continue
            self._committed(batch, outcomes, here=None, durable=commit is not None)

    def _committed(
        self,
        batch: list[_Command],
        outcomes: list[Any],
        *,
        here: asyncio.AbstractEventLoop | None,
        durable: bool = True,
    ) -> None:
        """A batch is settled (``durable``: it wrote something): answer its commands."""
        if self._fruitless and durable:
            self._fruitless = 0
            self._pause_s = recovery_pause_first_s
        if self._suspects:
            self._suspects.difference_update(batch)
        _resolve(batch, outcomes, failed=False, here=here)
