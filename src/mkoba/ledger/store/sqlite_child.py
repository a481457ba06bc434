"""SQLite commits in a process of their own, so they never wait for the writer's GIL.

Python's sqlite3 releases the GIL around every step and takes it back after, so
a committer thread beside a busy event loop waits for the interpreter at every
statement, and again to acknowledge the batch: at saturation the Daraja
benchmark's commits took 6 ms of wall time for 1 ms of work. A child process
has an interpreter of its own. The parent sends each batch as its statements
(``Statement``: SQL, parameters, one row or many), pickled, down a pipe, and
waits for the answer on another: empty once the COMMIT is fsynced, the error's
text if the transaction rolled back. The child and the in-thread path run the
same ``transaction``.

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


class CommitFailed(Exception):
    """The batch did not commit: it rolled back, or the commit process is gone."""


def transaction(connection: sqlite3.Connection, statements: Sequence[Statement]) -> None:
    """Run ``statements`` in one write transaction; roll back and re-raise on an error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        for sql, params, many in statements:
            if many:
                connection.executemany(sql, params)  # type: ignore[arg-type]
            else:
                connection.execute(sql, params)
        connection.execute("COMMIT")
    except sqlite3.Error:
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

    def fileno(self) -> int:
        """Readable when an answer is waiting (for an event loop's reader)."""
        return self._answers.fileno()

    def _send(self, message: object) -> None:
        try:
            self._batches.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as error:
            raise CommitFailed(f"the sqlite commit process stopped: {error!r}") from error

    def _answer(self) -> None:
        try:
            self._answers.poll(None)  # the descriptor may be non-blocking (an event loop's)
            answer = self._answers.recv_bytes()
        except (EOFError, OSError) as error:
            raise CommitFailed(f"the sqlite commit process stopped: {error!r}") from error
        if answer:
            raise CommitFailed(answer.decode())

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
    # a writer that is now wrong: after a failure, nothing more commits.
    failure = b""
    while True:
        try:
            message = pickle.loads(batches.recv_bytes())  # noqa: S301 (our parent, a private pipe)
        except (EOFError, OSError):
            break
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
        except sqlite3.Error as error:
            # Short: an answer is one write to the pipe, whole for a non-blocking reader.
            answers.send_bytes(f"sqlite commit failed: {error}"[:answer_chars_max].encode())
            failure = b"not committed: an earlier batch failed"
            continue
        answers.send_bytes(b"")
    if connection is not None:
        connection.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
    os._exit(0)
