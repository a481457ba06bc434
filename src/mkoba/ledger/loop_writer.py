"""The ledger writer on an event loop: it decides on the loop and commits through a pipe.

With a store that commits in a process of its own (``Store.commit_pipe``), the
writer needs no threads. Commands queue on the loop; once per loop turn the
writer takes what is queued, decides it in the engine, and sends the batch down
the pipe; the pipe's answer, read when its descriptor is readable, resolves the
batch's futures on the loop itself. Two batches are in the pipe at most, so the
commands that arrive meanwhile make the next batch bigger, as on the threads.

Why: beside a busy event loop, the writer and committer threads spent their time
waiting for the interpreter lock (an acknowledgement sat 6-8 ms at the 90th
percentile at saturation), and the loop waited for them in turn. Here the loop
does the same work without waiting for anyone.

The promises are the writer's: a future resolves only after its batch, and
every batch before it, has committed; ``stop`` finishes what is queued. A failed
commit costs only its own commands: the commit process refuses every batch
behind a failed one (they were decided on memory that included it), the writer
reads those refusals, rebuilds the engine from the store, resets the commit
process (or starts a new one if it is gone) and decides again what did not
commit. The rebuild runs on the loop: rare, and the loop must not decide
anything meanwhile anyway. Without a pipe (PostgreSQL, or commits on a thread),
``start`` runs the threaded writer.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from typing import Any

from mkoba.ledger import limits
from mkoba.ledger.commands import _FAULT_DECIDE, _STOP, WriterError, _Command, _resolve, _Undecided
from mkoba.ledger.recovery import fruitless_failures_max
from mkoba.ledger.store.base import Commit, CommitPipe, LeaseLost, Store, StoreError
from mkoba.ledger.writer import LedgerWriter

# The oldest first: (commit or None, commands, outcomes, stop).
_Batch = tuple[Commit | None, list[_Command], list[Any], bool]
# Batches sent down the pipe and not yet answered, at most.
sent_max = 2
# How often an off-loop ``stop`` checks that the loop still runs.
stop_poll_s = 0.05


class LoopWriter(LedgerWriter):
    """``LedgerWriter`` whose commands are decided on ``loop``."""

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop, **options: Any) -> None:
        super().__init__(store, **options)
        self._loop = loop
        self._pipe: CommitPipe | None = None
        self._running_on_loop = False
        self._pending: collections.deque[_Command] = collections.deque()
        self._in_flight: collections.deque[_Batch] = collections.deque()
        self._sent = 0
        self._drain_soon = False
        self._stopped = False  # the stop command has been decided
        self._blocking = False  # ``stop`` finishes the work itself: no reader, no timer
        self._loop_thread: int | None = None
        self._reader = -1
        self._timer: asyncio.TimerHandle | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._done = threading.Event()

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> LoopWriter:
        """Load and check the ledger; decide on the loop if the store has a pipe."""
        self._load()
        try:
            pipe = self.store.commit_pipe()
        except BaseException:
            self.store.close()
            raise
        if pipe is None:
            self._start_thread()
            return self
        self._pipe = pipe
        self._running_on_loop = True
        self._loop.call_soon_threadsafe(self._attach)
        return self

    def _attach(self) -> None:
        assert self._pipe is not None
        self._loop_thread = threading.get_ident()
        if self._done.is_set():
            return
        self._reader = self._pipe.fileno()
        self._loop.add_reader(self._reader, self._on_answer)
        self._drain()

    def stop(self) -> None:
        """Finish what is queued, checkpoint the balances, and release the store."""
        if self._pipe is None:
            super().stop()
            return
        if not self._running_on_loop:
            return
        if not self._stopping:
            self._stopping = True
            self._hand(_Command(_STOP, None))
        if threading.get_ident() == self._loop_thread:
            self._finish_here()
        else:
            while not self._done.wait(stop_poll_s):
                if self._loop.is_closed() or not self._loop.is_running():
                    self._finish_here()
                    break
        self._running_on_loop = False
        self.store.close()

    def _running(self) -> bool:
        if self._pipe is None:
            return super()._running()
        return self._running_on_loop and not self._stopping and not self._done.is_set()

    # -- commands ---------------------------------------------------------------------

    def _enqueue(self, command: _Command) -> None:
        if self._pipe is None:
            super()._enqueue(command)
            return
        self._refuse_if_unable()
        if self._stopping or not self._running_on_loop:
            raise WriterError("the ledger writer is not running")
        if len(self._pending) >= limits.queue_commands_max:
            raise WriterError("the ledger writer is overloaded; try again")
        self._hand(command)

    def _hand(self, command: _Command) -> None:
        if threading.get_ident() == self._loop_thread:
            self._accept(command)
            return
        try:
            self._loop.call_soon_threadsafe(self._accept, command)
        except RuntimeError:  # the loop is closed: ``stop`` finishes on its own
            if command.kind != _STOP:
                raise WriterError("the ledger writer is not running") from None

    def _accept(self, command: _Command) -> None:
        """On the loop: queue a command; the next loop turn decides it with the others."""
        if self._failure is not None or self._stopped or self._done.is_set():
            failed = self._failure is not None
            outcome = WriterError(f"the ledger writer {'failed' if failed else 'stopped'}")
            outcome.__cause__ = self._failure
            _resolve([command], [outcome], failed=True, here=self._loop)
            return
        if self._down is not None:  # waiting for the store: fail at once (stop: finish)
            if command.kind == _STOP:
                _resolve([command], [None], failed=False, here=self._loop)
                self._finish()
                return
            self._fail_down_here([command])
            return
        self._pending.append(command)
        self._drain_later()

    def _drain_later(self) -> None:
        if not self._drain_soon and not self._blocking:
            self._drain_soon = True
            self._loop.call_soon(self._drain)

    # -- on the loop: decide, send, answer --------------------------------------------

    def _drain(self) -> None:
        """Decide queued commands into batches while the pipe has room."""
        self._drain_soon = False
        pipe = self._pipe
        assert pipe is not None
        while self._pending and self._sent < sent_max and not self._stopped:
            if self._failure is not None or self._recovering or self._done.is_set():
                return
            batch = self._take()
            try:
                commit, outcomes, stop = self._decide(batch)
            except _Undecided as undecided:  # memory is ahead; the batches before it stand
                self._broke(undecided.error, batch, _FAULT_DECIDE, undecided.command)
                return
            if commit is not None:
                try:
                    pipe.send(commit)
                except BaseException as error:  # not sent: the pipe broke, or a row cannot go
                    self._broke(error, batch)
                    return
                self._sent += 1
            self._in_flight.append((commit, batch, outcomes, stop))
            if stop:
                self._stopped = True
        self._settle_ready()
        if not self._blocking and not self._done.is_set():
            self._arm()

    def _take(self) -> list[_Command]:
        if self._suspects:  # recovering from a failed batch of several: the slow path
            return self._take_from(self._pending)
        pending = self._pending
        first = pending.popleft()
        batch = [first]
        size = first.size
        while pending and size < self.batch_transfers_max and batch[-1].kind != _STOP:
            if size + pending[0].size > self.batch_transfers_max:
                break
            command = pending.popleft()
            batch.append(command)
            size += command.size
        return batch

    def _settle_ready(self) -> None:
        """Resolve the oldest batches that had nothing to commit (reads), in order."""
        in_flight = self._in_flight
        while in_flight and in_flight[0][0] is None:
            _, batch, outcomes, stop = in_flight.popleft()
            self._committed(batch, outcomes, here=self._loop, durable=False)
            if stop:
                self._finish()
                return

    def _on_answer(self) -> None:
        """The oldest batch sent has its answer: resolve it and decide what waited."""
        pipe = self._pipe
        assert pipe is not None
        if not self._in_flight:  # readable with nothing sent: the commit process ended
            try:
                pipe.answer()
                error: BaseException = StoreError("the commit process answered a batch never sent")
            except BaseException as failure:
                error = failure
            self._broke(error, [], oldest=True)
            return
        # Read-only batches are settled as soon as they are the oldest (_settle_ready).
        assert self._in_flight[0][0] is not None
        self._sent -= 1
        _, batch, outcomes, stop = self._in_flight.popleft()
        try:
            pipe.answer()
        except BaseException as error:
            self._broke(error, batch, oldest=True)
            return
        self._committed(batch, outcomes, here=self._loop)
        if stop:
            self._finish()
            return
        self._settle_ready()
        self._drain()

    def _arm(self) -> None:
        """Sweep expired pendings (and checkpoint) when nothing else asks the engine to."""
        when = self._loop.time() + self._idle_timeout_s()
        timer = self._timer
        if timer is not None:
            if timer.when() <= when:
                return
            timer.cancel()
        self._timer = self._loop.call_at(when, self._tick)

    def _tick(self) -> None:
        self._timer = None
        if not self._stopping and self._failure is None and self._down is None:
            self._accept(_Command("sweep", None))

    # -- recovery: the rare path ------------------------------------------------------

    def _broke(
        self,
        error: BaseException,
        batch: list[_Command],
        fault: str | None = None,
        culprit: _Command | None = None,
        *,
        oldest: bool = False,
    ) -> None:
        """A batch failed: settle every batch in flight, in order, then rebuild.

        ``oldest``: it was the oldest in flight (its answer said so); otherwise it was
        decided after those still in flight, which settle first.
        """
        self._recovering = True
        if oldest:
            self._note_failure(error, batch, fault, culprit)
        self._settle_in_flight()
        if not oldest:
            self._note_failure(error, batch, fault, culprit)
        self._recover_here()

    def _settle_in_flight(self) -> None:
        """Read every answer still due (refusals come at once), oldest first.

        Before the first failure a batch's answer stands; after it, every batch is
        one the commit process refused (or could not take): it is decided again.
        """
        pipe = self._pipe
        assert pipe is not None
        while self._in_flight:
            commit, batch, outcomes, stop = self._in_flight.popleft()
            if commit is not None:
                self._sent -= 1
                try:
                    pipe.answer()
                except BaseException as error:
                    self._note_failure(error, batch)
                    continue
            if self._casualty is not None:
                self._later.extend(batch)
                continue
            self._committed(batch, outcomes, here=self._loop, durable=commit is not None)
            if stop:
                self._finish()
                return

    def _recover_here(self, *, paused: bool = False) -> None:
        """On the loop, nothing in flight: fail what must fail, rebuild, go on (or pause).

        ``paused``: the pause after failures in a row is over; rebuild now.
        """
        try:
            self._recover_steps(paused)
        except BaseException as error:  # a bug in the recovery itself: trust nothing more
            self._failure = error
            self._fail_all("the ledger writer failed")
            self._detach()
            self._done.set()
            raise

    def _recover_steps(self, paused: bool) -> None:
        redo, failed, errors = self._triage()
        _resolve(failed, errors, failed=True, here=self._loop)
        if self._failure is not None:  # fenced: stop for good
            raise self._failure
        if self._done.is_set():  # stopped meanwhile: nothing more is decided
            stopped = [WriterError("the ledger writer stopped") for _ in redo]
            _resolve(redo, stopped, failed=True, here=self._loop)
            return
        self._detach()  # the commit process may be replaced, and its descriptor with it
        if self._fruitless >= fruitless_failures_max and not paused:
            self._went_down(None)
            self._pause(redo)
            return
        try:
            self._rebuild()
            pipe = self.store.commit_pipe()
            assert pipe is not None, "a store that offered a pipe offers one again"
        except LeaseLost:  # another writer may hold the ledger: stop for good
            self._pending.extendleft(reversed(redo))  # failed with the writer
            raise
        except Exception as error:  # the store is gone, or disagrees with itself
            self._went_down(error)
            self._pause(redo)
            return
        self._pipe = pipe
        self._down = None
        self._recovering = False
        if any(command.kind == _STOP for command in redo):
            self._stopped = False  # it is decided again
        self._pending.extendleft(reversed(redo))
        if self._blocking:  # ``stop`` on the loop's thread drives the rest itself
            return
        self._reader = pipe.fileno()
        self._loop.add_reader(self._reader, self._on_answer)
        self._drain_later()

    def _pause(self, waiting: list[_Command]) -> None:
        """The store cannot commit: fail everything waiting; try again after a pause."""
        self._fail_down_here([*waiting, *self._pending])
        self._pending.clear()
        if self._stopping or self._blocking:
            self._finish()
            return
        self._retry = self._loop.call_later(self._next_pause_s(), self._retried)

    def _retried(self) -> None:
        self._retry = None
        self._recover_here(paused=True)

    def _fail_down_here(self, commands: list[_Command]) -> None:
        down = self._down
        assert down is not None
        stop = [command for command in commands if command.kind == _STOP]
        others = [command for command in commands if command.kind != _STOP]
        errors = []
        for _ in others:
            failure = WriterError("the ledger store is unavailable; try again")
            failure.__cause__ = down
            errors.append(failure)
        _resolve(others, errors, failed=True, here=self._loop)
        _resolve(stop, [None] * len(stop), failed=False, here=self._loop)

    # -- the end ----------------------------------------------------------------------

    def _finish(self) -> None:
        """The stop command committed: refuse what came after it, let go of the loop."""
        self._fail_all("the ledger writer stopped")
        self._detach()
        self._done.set()

    def _fail_all(self, message: str) -> None:
        batches = [batch for _, batch, _, _ in self._in_flight]
        self._in_flight.clear()
        self._sent = 0
        batches.append(list(self._pending))
        self._pending.clear()
        for batch in batches:
            errors = [WriterError(message) for _ in batch]
            for error in errors:
                error.__cause__ = self._failure
            _resolve(batch, errors, failed=True, here=self._loop)

    def _detach(self) -> None:
        if self._reader >= 0:
            self._loop.remove_reader(self._reader)
            self._reader = -1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    def _finish_here(self) -> None:
        """``stop`` on the loop's thread, or after the loop ended: finish without the loop."""
        self._blocking = True
        self._detach()
        if not self._stopped and not any(command.kind == _STOP for command in self._pending):
            self._pending.append(_Command(_STOP, None))
        while not self._done.is_set():
            if self._down is not None or self._failure is not None:
                self._finish()
                break
            self._drain()
            if self._done.is_set():
                break
            if self._in_flight:
                self._on_answer()
            elif not self._pending:
                break
        self._done.set()
