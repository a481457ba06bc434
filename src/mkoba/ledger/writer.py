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

If the store fails, the writer fails every waiting command and stops: its
memory is ahead of the store and cannot be trusted. Start a new writer; it
rebuilds itself from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from typing import Any

from mkoba.ledger import invariants, limits
from mkoba.ledger.account import Account, Balance
from mkoba.ledger.engine import Engine
from mkoba.ledger.results import AccountResult, TransferResult
from mkoba.ledger.store.base import Commit, Store, StoreError, Write
from mkoba.ledger.transfer import Transfer

Attach = Sequence[Write] | Callable[[list[TransferResult]], Sequence[Write]] | None
Clock = Callable[[], int]


class WriterError(Exception):
    """The writer cannot take commands: it stopped, failed, or is overloaded."""


class _Command:
    __slots__ = ("kind", "payload", "attach", "future", "size", "loop")

    def __init__(
        self,
        kind: str,
        payload: Any,
        attach: Attach = None,
        size: int = 1,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.kind = kind
        self.payload = payload
        self.attach = attach
        self.size = size
        # On a loop: an asyncio future, only ever touched from its loop's thread.
        self.loop = loop
        self.future: Future[Any] | asyncio.Future[Any] = (
            Future() if loop is None else loop.create_future()
        )


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, bool]]) -> None:
    """On a loop: resolve its commands of one batch; ``failed`` marks an exception."""
    for future, outcome, failed in outcomes:
        if future.done():  # the caller stopped waiting; the command still happened
            continue
        if failed:
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


_STOP = "stop"


class LedgerWriter:
    """The single owner of the ledger's balances."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = time.time_ns,
        batch_transfers_max: int = limits.batch_transfers_max,
        checkpoint_interval_s: float = limits.checkpoint_interval_s,
    ) -> None:
        assert 0 < batch_transfers_max <= limits.batch_transfers_max
        self.store = store
        self.clock = clock
        self.batch_transfers_max = batch_transfers_max
        self.checkpoint_interval_s = checkpoint_interval_s
        self.engine = Engine()
        self._queue: queue.Queue[_Command] = queue.Queue(maxsize=limits.queue_commands_max)
        self._carry: _Command | None = None
        # Decided batches waiting to be made durable; two in flight at most.
        self._commits: queue.Queue[tuple[Commit | None, list[_Command], list[Any]] | None] = (
            queue.Queue(maxsize=2)
        )
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._stopping = False
        self._last_checkpoint = 0.0
        self.batches = 0

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
                # Wake the writer thread: after a store failure it may still be waiting
                # (up to checkpoint_interval_s) for a command before it sees the failure.
                # A full queue means it is not waiting.
                with contextlib.suppress(queue.Full):
                    self._queue.put_nowait(_Command(_STOP, None))
        self._thread.join()
        self._thread = None
        self.store.close()

    def __enter__(self) -> LedgerWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- commands ---------------------------------------------------------------------

    def submit(
        self, transfers: Sequence[Transfer], attach: Attach = None
    ) -> Future[list[TransferResult]]:
        """Apply ``transfers``; the future resolves once they are durable.

        ``attach`` is rows to commit in the same database transaction, or a
        function from the results to such rows (it runs on the writer thread and
        must not raise).
        """
        assert len(transfers) <= self.batch_transfers_max, "split batches at batch_transfers_max"
        return self._put(_Command("transfers", transfers, attach, max(1, len(transfers))))

    def submit_async(
        self, transfers: Sequence[Transfer], attach: Attach = None
    ) -> asyncio.Future[list[TransferResult]]:
        """``submit`` for a caller on the running event loop: await the result.

        Cheaper than wrapping ``submit``'s future: the committer hands each batch's
        results to the loop at once, instead of one thread hop per command.
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
        """Run a read-only function against the engine, in order with the writes."""
        return self._put(_Command("read", function))

    def sweep(self) -> Future[int]:
        """Expire due pending transfers now (the writer also does this on its own)."""
        return self._put(_Command("sweep", None))

    def checkpoint(self) -> Future[None]:
        """Write every changed balance to the store at the next commit."""
        return self._put(_Command("checkpoint", None))

    def _enqueue(self, command: _Command) -> None:
        if self._failure is not None:
            raise WriterError("the ledger writer failed; restart it") from self._failure
        if self._stopping or self._thread is None:
            raise WriterError("the ledger writer is not running")
        try:
            self._queue.put_nowait(command)
        except queue.Full:
            raise WriterError("the ledger writer is overloaded; try again") from None

    def _put(self, command: _Command) -> Future[Any]:
        self._enqueue(command)
        assert isinstance(command.future, Future)
        return command.future

    # -- the writer thread: decide --------------------------------------------------

    def _run(self) -> None:
        committer = threading.Thread(target=self._commit_loop, name="ledger-committer", daemon=True)
        committer.start()
        try:
            while self._failure is None:
                batch = self._next_batch()
                if batch is None:
                    continue
                try:
                    commit, outcomes, stop = self._decide(batch)
                except BaseException as error:  # a bug: crash rather than guess
                    self._fail(error, batch)
                    break
                self._commits.put((commit, batch, outcomes))
                if stop:
                    break
        finally:
            self._commits.put(None)
            committer.join()
            self._fail_queued()

    def _next_batch(self) -> list[_Command] | None:
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

    def _idle_timeout_s(self) -> float:
        timeout = self.checkpoint_interval_s
        expiry = self.engine.next_expiry()
        if expiry is not None:
            timeout = min(timeout, max(0.0, (expiry - self.clock()) / 1e9))
        return max(0.001, timeout)

    def _decide(self, batch: list[_Command]) -> tuple[Commit | None, list[Any], bool]:
        """Apply a batch to the engine: what to commit, each command's outcome, and stop."""
        engine = self.engine
        now = self.clock()
        expired = engine.expire(now)
        writes: list[Write] = []
        outcomes: list[Any] = []
        stop = force_checkpoint = False
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
        commit = self._prepare(writes, force_checkpoint)
        self.batches += 1
        return commit, outcomes, stop

    def _prepare(self, writes: list[Write], force_checkpoint: bool) -> Commit | None:
        engine = self.engine
        changes = engine.take_changes()
        due = time.monotonic() - self._last_checkpoint >= self.checkpoint_interval_s
        checkpoint = None
        balances: list[tuple[int, int, int, int, int]] = []
        if force_checkpoint or (due and engine.has_dirty_balances()):
            problems = invariants.violations(engine.accounts.values())
            assert not problems, problems
            balances = engine.take_dirty_balances()
            checkpoint = engine.timestamp
            self._last_checkpoint = time.monotonic()
        if any(changes) or writes or checkpoint is not None:
            return Commit(changes, writes, balances, checkpoint)
        return None

    # -- the committer thread: make durable, then acknowledge --------------------------

    def _commit_loop(self) -> None:
        while True:
            item = self._commits.get()
            if item is None:
                return
            commit, batch, outcomes = item
            if self._failure is not None:
                self._fail(self._failure, batch)
                continue
            try:
                if commit is not None:
                    self.store.commit(commit)
            except BaseException as error:  # the store failed: memory is ahead of it
                self._fail(error, batch)
                continue
            _resolve(batch, outcomes, failed=False)

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
        batch = [self._carry] if self._carry is not None else []
        self._carry = None
        while True:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        _resolve(batch, [WriterError("the ledger writer stopped") for _ in batch], failed=True)


def _resolve(
    batch: list[_Command],
    outcomes: Sequence[Any],
    *,
    failed: bool,
    here: asyncio.AbstractEventLoop | None = None,
) -> None:
    """Resolve each command's future: thread futures here, loop futures on their loop.

    ``here``: the loop this runs on, whose futures are resolved at once.
    """
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, bool]]] = {}
    for command, outcome in zip(batch, outcomes, strict=True):
        future = command.future
        if command.loop is not None:
            assert isinstance(future, asyncio.Future)
            by_loop.setdefault(command.loop, []).append((future, outcome, failed))
            continue
        assert isinstance(future, Future)
        # A caller may stop waiting (asyncio.wrap_future cancels on task
        # cancellation): its command still happened, nobody needs the answer.
        with contextlib.suppress(InvalidStateError):
            if failed:
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
    for loop, settled in by_loop.items():
        if loop is here:
            _settle(settled)
            continue
        # A closed loop has nobody left to tell.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, settled)


def load(store: Store, engine: Engine) -> None:
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
    """Every checkpointed balance must equal the sum of the transfers up to it."""
    for entry in stored:
        replayed = engine.accounts[entry.account.id].balance()
        if replayed != entry.balance:
            raise StoreError(
                f"account {entry.account.id}: stored balance {tuple(entry.balance)} at checkpoint"
                f" {checkpoint} != {tuple(replayed)} from its transfers"
            )
