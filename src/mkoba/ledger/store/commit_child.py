"""A store's commits in a process of their own, so they never wait for the writer's GIL.

A committer thread beside a busy event loop waits for the interpreter at every
step that needs it: SQLite's at every statement, psycopg's at every round trip
to the server. The thread that holds the interpreter lets go of it only after
the switch interval (5 ms), so a commit of a few round trips took tens of ms of
wall time for one of work. A child process has an interpreter of its own. The
parent sends each batch as the store's statements, pickled, down a pipe, and
reads the answer on another: empty once the batch is durable, the fault and the
error's text if the transaction rolled back. The parent's event loop watches the
answers' descriptor (``CommitPipe``).

No batch stops the child: whatever a batch raises (a text that cannot be
encoded, an int too big for a column, a duplicate key, a lost server), the
transaction rolls back and the error is the answer. After a failure the child
refuses every batch behind it (they were decided on the writer's memory of the
failed one) until the parent, having rebuilt that memory from the store, sends a
reset. The child exits when the batches' pipe closes, after the batch it is
committing, and commits nothing it reads once its parent has died (batches still
in the pipe: nobody would hear of them, and a successor may be loading the store).

Each store's child is a module of this package with a ``DRIVER`` (``Driver``:
how to open the database, run one batch's transaction, reset after a failure).
The child runs it with this module only (``-I``, no ``mkoba`` package code
beyond these files: the packages' ``__init__`` modules are not run), so it
starts while the parent loads the ledger. This module and the drivers import
nothing of mkoba but one another.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

# An error's text is cut to this, so that every answer fits in one pipe write.
answer_chars_max = 1000
# How long closing waits for the child to finish its batch and exit.
exit_wait_s = 10.0
# The batches' pipe holds this much (Linux; the default is 64 KiB): a batch sent while
# the child commits the one before must not block the writer's event loop until then.
pipe_bytes = 1 << 20
# The parent's message that ends the refusals after a failure (a batch is a list).
RESET = None

# What a failed batch means (the same words as ``StoreError.fault``; this file imports
# nothing of mkoba): its own rows cannot be stored; the database failed; never tried;
# refused by the writer's lease (another writer holds the ledger).
FAULT_DATA = "data"
FAULT_STORE = "store"
FAULT_UNTRIED = "untried"
FAULT_FENCED = "fenced"
# An answer's first byte says which.
_FAULT_BYTES = {FAULT_DATA: b"d", FAULT_STORE: b"s", FAULT_UNTRIED: b"u", FAULT_FENCED: b"f"}
_BYTE_FAULTS = {byte: fault for fault, byte in _FAULT_BYTES.items()}

# The child's first lines: this package's directories as bare packages (their
# ``__init__`` modules import the whole ledger), then the driver's module.
_BOOT = """
import importlib, os, sys, types
store = sys.argv[1]
ledger = os.path.dirname(store)
for name, path in (
    ("mkoba", os.path.dirname(ledger)), ("mkoba.ledger", ledger), ("mkoba.ledger.store", store)
):
    package = types.ModuleType(name)
    package.__path__ = [path]
    sys.modules[name] = package
importlib.import_module("mkoba.ledger.store.commit_child").main(sys.argv[2:])
"""


class CommitFailed(Exception):
    """The batch did not commit: it rolled back, or the commit process is gone."""

    def __init__(self, message: str, fault: str = FAULT_STORE) -> None:
        super().__init__(message)
        self.fault = fault


class Driver(Protocol):
    """What a child needs of its database (``DRIVER`` in the store's child module)."""

    name: str

    def open(self, opening: Any) -> Any:
        """A connection from the parent's first message."""

    def transaction(self, connection: Any, statements: Any) -> None:
        """Commit one batch durably, or roll it back and raise."""

    def reset(self, connection: Any) -> None:
        """After a failure: be ready to commit again (end a transaction left open), or raise."""

    def fault_of(self, error: BaseException) -> str:
        """``FAULT_DATA`` when the batch's own rows failed, ``FAULT_FENCED`` when the
        lease refused it, else ``FAULT_STORE``."""

    def describe(self, error: BaseException) -> str:
        """An error's kind and cause without the values that caused it (they may be secrets)."""

    def close(self, connection: Any) -> None:
        """Let go of the connection."""


class CommitChild:
    """The parent's end: one batch at a time, from one thread (or the writer's loop).

    ``driver``: the child's module (``mkoba.ledger.store.<name>``, with a ``DRIVER``);
    ``opening``: its first message (where the database is); ``pass_fds``: descriptors
    the child keeps (a lease it shares).
    """

    def __init__(self, driver: str, opening: object, *, pass_fds: Sequence[int] = ()) -> None:
        # Two pipes, not one socket: an event loop watching the answers makes their
        # descriptor non-blocking, and a big batch must still be sent whole.
        batches_in, batches_out = os.pipe()
        answers_in, answers_out = os.pipe()
        _widen(batches_out)
        theirs = [batches_in, answers_out]
        store = str(Path(__file__).parent)
        try:
            self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and files)
                [sys.executable, "-I", "-c", _BOOT, store, driver, *map(str, theirs)],
                pass_fds=[*theirs, *pass_fds],
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            for fd in (batches_in, batches_out, answers_in, answers_out):
                os.close(fd)
            raise
        for fd in theirs:
            os.close(fd)
        self._batches = Connection(batches_out, readable=False)
        self._answers = Connection(answers_in, writable=False)
        # The child opens the store while the parent goes on; the first commit reads
        # the answer before its own.
        self._send(opening)
        self._opening = True

    @property
    def pid(self) -> int:
        """The commit process's id."""
        return self._process.pid

    def commit(self, statements: object) -> None:
        """Commit one batch in the child; ``CommitFailed`` if it did not."""
        self.send(statements)
        self.answer()

    def send(self, statements: object) -> None:
        """Hand one batch to the child; ``answer`` says, in order, whether it committed."""
        self._send(statements)

    def answer(self) -> None:
        """Wait for the answer to the oldest batch sent; ``CommitFailed`` if it rolled back."""
        self.ready()
        self._answer()

    def ready(self) -> None:
        """Wait until the child has opened the store; ``CommitFailed`` if it could not."""
        if self._opening:
            self._opening = False
            self._answer()

    def reset(self) -> None:
        """After a failure, once every batch sent has its answer: commit what comes next."""
        self.ready()
        self._send(RESET)
        self._answer()

    def alive(self) -> bool:
        """Whether the child still runs (one ``waitpid``: cheap enough to poll)."""
        return self._process.poll() is None

    def fileno(self) -> int:
        """Readable when an answer is waiting (for an event loop's reader)."""
        return self._answers.fileno()

    def _send(self, message: object) -> None:
        try:
            data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # a value pickle cannot carry: the batch's, and not sent
            text = f"the batch cannot be sent: {type(error).__name__}"
            raise CommitFailed(text, FAULT_DATA) from None
        try:
            self._batches.send_bytes(data)
        except OSError as error:
            # Nothing reads the pipe any more: the child is gone and cannot commit this.
            message = f"the commit process stopped: {error!r}"
            raise CommitFailed(message, FAULT_UNTRIED) from error

    def _answer(self) -> None:
        try:
            self._answers.poll(None)  # the descriptor may be non-blocking (an event loop's)
            answer = self._answers.recv_bytes()
        except (EOFError, OSError) as error:
            # It died with this batch: committed or not, nobody can say.
            raise CommitFailed(f"the commit process stopped: {error!r}") from error
        if answer:
            fault = _BYTE_FAULTS.get(answer[:1], FAULT_STORE)
            raise CommitFailed(answer[1:].decode(errors="replace"), fault)

    def close(self) -> None:
        """Close the batches' pipe; the child finishes its batch, if any, and exits."""
        self._batches.close()
        self._answers.close()
        try:
            self._process.wait(exit_wait_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class ChildPipe:
    """A store's ``CommitPipe`` over its commit process (SQLite's and PostgreSQL's).

    ``statements``: the store's statements of a batch (they go down the pipe);
    ``errors``: a context that turns ``CommitFailed`` into the store's own errors.
    """

    def __init__(
        self,
        child: CommitChild,
        statements: Callable[[Any], object],
        errors: Callable[[], AbstractContextManager[object]],
    ) -> None:
        self._child = child
        self._statements = statements
        self._errors = errors

    def fileno(self) -> int:
        return self._child.fileno()

    def send(self, batch: Any) -> None:
        statements = self._statements(batch)
        with self._errors():
            self._child.send(statements)

    def answer(self) -> None:
        with self._errors():
            self._child.answer()


def _widen(fd: int) -> None:
    """Let the pipe hold ``pipe_bytes`` where the system allows it (else keep its size)."""
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setting is None:
        return
    with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep the default
        fcntl.fcntl(fd, setting, pipe_bytes)


def serve(batches_fd: int, answers_fd: int, driver: Driver) -> None:
    """The child: open the store, then commit each batch until the parent closes the pipe."""
    # Interrupts are for the parent, which stops the writer and then closes the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    batches = Connection(batches_fd, writable=False)
    answers = Connection(answers_fd, readable=False)
    parent = os.getppid()
    connection: Any = None
    # Batches may already be queued behind one that failed, decided on the memory of
    # a writer that is now wrong: after a failure, nothing more commits until the
    # parent has rebuilt its memory from the store and says so (RESET).
    failure = b""
    while True:
        try:
            message = pickle.loads(batches.recv_bytes())  # noqa: S301 (our parent, a private pipe)
        except (EOFError, OSError):
            break
        if os.getppid() != parent:
            # The writer died: nobody will read this answer, and a successor may be
            # loading the store already. What is still in the pipe is not committed.
            break
        if message is RESET:
            answers.send_bytes(_reset(driver, connection))
            if connection is not None:
                failure = b""
            continue
        if failure:
            answers.send_bytes(failure)
            continue
        try:
            if connection is None:
                connection = driver.open(message)
            else:
                driver.transaction(connection, message)
        except Exception as error:  # never the child's end: the batch's, or the database's
            # Short: an answer is one write to the pipe, whole for a non-blocking reader.
            text = f"{driver.name} commit failed: {driver.describe(error)}"[:answer_chars_max]
            answers.send_bytes(_FAULT_BYTES[driver.fault_of(error)] + text.encode())
            failure = _FAULT_BYTES[FAULT_UNTRIED] + b"not committed: an earlier batch failed"
            continue
        answers.send_bytes(b"")
    if connection is not None:
        driver.close(connection)


def _reset(driver: Driver, connection: Any) -> bytes:
    """The answer to a reset: empty once ready to commit again, else why not."""
    if connection is None:  # the store never opened: a new child must be started
        return _FAULT_BYTES[FAULT_STORE] + b"the commit process has no store open"
    try:
        driver.reset(connection)
    except Exception as error:
        text = f"{driver.name} reset failed: {driver.describe(error)}"[:answer_chars_max]
        return _FAULT_BYTES[FAULT_STORE] + text.encode()
    return b""


def main(arguments: Sequence[str]) -> None:
    """The child's program: ``<driver module> <batches fd> <answers fd>``."""
    module, batches_fd, answers_fd = arguments
    driver: Driver = importlib.import_module(module).DRIVER
    serve(int(batches_fd), int(answers_fd), driver)
    os._exit(0)
