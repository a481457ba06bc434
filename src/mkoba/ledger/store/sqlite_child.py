"""SQLite commits in a process of their own, so they never wait for the writer's GIL.

Python's sqlite3 releases the GIL around every step and takes it back after, so
a committer thread beside a busy event loop waits for the interpreter at every
statement, and again to acknowledge the batch: at saturation the Daraja
benchmark's commits took 6 ms of wall time for 1 ms of work. A child process
has an interpreter of its own. The parent sends each batch as its statements
(``Statement``: SQL, parameters, one row or many), pickled, down a pipe, and
waits for the answer on another: empty once the COMMIT is fsynced, the fault and
the error's text if the transaction rolled back. The child and the in-thread path
run the same ``transaction``.

No batch stops the child: whatever a batch raises (a text that cannot be encoded,
an int too big for a column, a duplicate key, a full disk), the transaction rolls
back and the error is the answer. After a failure the child refuses every batch
behind it (they were decided on the writer's memory of the failed one) until the
parent, having rebuilt that memory from the store, sends a reset.

The child inherits the store's lease (its open file description), so the lock
is held until both have exited: a new writer cannot load the store while a
child could still commit a batch of the old one. The child exits when the
batches' pipe closes, after the batch it is committing.

This file is also the child's program, run by path with the standard library
only (``python -I sqlite_child.py``): it starts in about 25 ms, without importing
mkoba, while the parent loads the ledger.
"""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection

# (sql, parameters, many): ``many`` runs executemany over a sequence of rows.
Statement = tuple[str, Sequence[object], bool]
# An error's text is cut to this, so that every answer fits in one pipe write.
answer_chars_max = 1000
# How long closing waits for the child to finish its batch and exit.
exit_wait_s = 10.0
# The parent's message that ends the refusals after a failure (a batch is a list).
RESET = None

# What a failed batch means (the same words as ``StoreError.fault``; this file imports
# nothing of mkoba): its own rows cannot be stored; the database failed; never tried.
FAULT_DATA = "data"
FAULT_STORE = "store"
FAULT_UNTRIED = "untried"
# An answer's first byte says which.
_FAULT_BYTES = {FAULT_DATA: b"d", FAULT_STORE: b"s", FAULT_UNTRIED: b"u"}
_BYTE_FAULTS = {byte: fault for fault, byte in _FAULT_BYTES.items()}
# SQLite result codes (an extended code's low byte) that mean the database failed, not
# the batch's rows: PERM, ABORT, BUSY, LOCKED, NOMEM, READONLY, INTERRUPT, IOERR,
# CORRUPT, FULL, CANTOPEN, PROTOCOL, SCHEMA, NOLFS, AUTH, NOTADB.
_STORE_CODES = frozenset({3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 17, 22, 23, 26})


class CommitFailed(Exception):
    """The batch did not commit: it rolled back, or the commit process is gone."""

    def __init__(self, message: str, fault: str = FAULT_STORE) -> None:
        super().__init__(message)
        self.fault = fault


def fault_of(error: BaseException) -> str:
    """Whether a failed transaction was its rows' fault (``FAULT_DATA``) or the database's."""
    if isinstance(error, OSError | MemoryError):
        return FAULT_STORE
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _STORE_CODES:
        return FAULT_STORE
    # A constraint, a value SQLite cannot bind (a lone surrogate, an int beyond 64
    # bits, a list), a missing table: the same rows would fail again, others would not.
    return FAULT_DATA


def describe(error: BaseException) -> str:
    """An error's kind and cause without the values that caused it (they may be secrets).

    SQLite's messages name tables, columns and constraints, never values; Python's
    own may quote the value (an encoding error shows the character), so of those only
    the kind is kept.
    """
    if isinstance(error, sqlite3.Error):
        return f"{type(error).__name__}: {error}"
    if isinstance(error, UnicodeError):
        return f"{type(error).__name__}: {getattr(error, 'reason', 'cannot be encoded')}"
    if isinstance(error, OverflowError):
        return "OverflowError: an int too big for a column"
    return type(error).__name__


def transaction(connection: sqlite3.Connection, statements: Sequence[Statement]) -> None:
    """Run ``statements`` in one write transaction; roll back and re-raise on any error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        for sql, params, many in statements:
            if many:
                connection.executemany(sql, params)  # type: ignore[arg-type]
            else:
                connection.execute(sql, params)
        connection.execute("COMMIT")
    except BaseException:
        # Any error, not only SQLite's (binding a text that cannot be encoded raises
        # UnicodeEncodeError): left open, the transaction would swallow the next batch.
        # SQLite may have rolled back already (a full disk, an I/O error).
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


class CommitChild:
    """The parent's end: one batch at a time, from one thread (the writer's committer)."""

    def __init__(self, path: str, setup: Sequence[str], *, lease_fd: int | None) -> None:
        # Two pipes, not one socket: an event loop watching the answers makes their
        # descriptor non-blocking, and a big batch must still be sent whole.
        batches_in, batches_out = os.pipe()
        answers_in, answers_out = os.pipe()
        theirs = [batches_in, answers_out]
        try:
            self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and file)
                [sys.executable, "-I", __file__, str(batches_in), str(answers_out)],
                pass_fds=theirs if lease_fd is None else [*theirs, lease_fd],
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
        self._send((path, list(setup)))
        self._opening = True

    def commit(self, statements: Sequence[Statement]) -> None:
        """Commit one batch in the child; ``CommitFailed`` if it did not."""
        self.send(statements)
        self.answer()

    def send(self, statements: Sequence[Statement]) -> None:
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
            raise CommitFailed(f"the batch cannot be sent: {describe(error)}", FAULT_DATA) from None
        try:
            self._batches.send_bytes(data)
        except OSError as error:
            # Nothing reads the pipe any more: the child is gone and cannot commit this.
            message = f"the sqlite commit process stopped: {error!r}"
            raise CommitFailed(message, FAULT_UNTRIED) from error

    def _answer(self) -> None:
        try:
            self._answers.poll(None)  # the descriptor may be non-blocking (an event loop's)
            answer = self._answers.recv_bytes()
        except (EOFError, OSError) as error:
            # It died with this batch: committed or not, nobody can say.
            raise CommitFailed(f"the sqlite commit process stopped: {error!r}") from error
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


def serve(batches_fd: int, answers_fd: int) -> None:
    """The child: open the store, then commit each batch until the parent closes the pipe."""
    # Interrupts are for the parent, which stops the writer and then closes the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    batches = Connection(batches_fd, writable=False)
    answers = Connection(answers_fd, readable=False)
    connection: sqlite3.Connection | None = None
    # Batches may already be queued behind one that failed, decided on the memory of
    # a writer that is now wrong: after a failure, nothing more commits until the
    # parent has rebuilt its memory from the store and says so (RESET).
    failure = b""
    while True:
        try:
            message = pickle.loads(batches.recv_bytes())  # noqa: S301 (our parent, a private pipe)
        except (EOFError, OSError):
            break
        if message is RESET:
            answers.send_bytes(_reset(connection))
            if connection is not None:
                failure = b""
            continue
        if failure:
            answers.send_bytes(failure)
            continue
        try:
            if connection is None:
                path, setup = message
                connection = sqlite3.connect(path, isolation_level=None)
                for pragma in setup:
                    connection.execute(pragma)
            else:
                transaction(connection, message)
        except Exception as error:  # never the child's end: the batch's, or the database's
            # Short: an answer is one write to the pipe, whole for a non-blocking reader.
            text = f"sqlite commit failed: {describe(error)}"[:answer_chars_max]
            answers.send_bytes(_FAULT_BYTES[fault_of(error)] + text.encode())
            failure = _FAULT_BYTES[FAULT_UNTRIED] + b"not committed: an earlier batch failed"
            continue
        answers.send_bytes(b"")
    if connection is not None:
        connection.close()


def _reset(connection: sqlite3.Connection | None) -> bytes:
    """The answer to a reset: empty once ready to commit again, else why not."""
    if connection is None:  # the store never opened: a new child must be started
        return _FAULT_BYTES[FAULT_STORE] + b"the commit process has no store open"
    try:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
    except Exception as error:
        text = f"sqlite rollback failed: {describe(error)}"[:answer_chars_max]
        return _FAULT_BYTES[FAULT_STORE] + text.encode()
    return b""


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
    os._exit(0)
