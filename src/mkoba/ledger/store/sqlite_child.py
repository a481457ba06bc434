"""SQLite commits in a process of their own, so they never wait for the writer's GIL.

Python's sqlite3 releases the GIL around every step and takes it back after, so
a committer thread beside a busy event loop waits for the interpreter at every
statement, and again to acknowledge the batch: at saturation the Daraja
benchmark's commits took 6 ms of wall time for 1 ms of work. A child process
has an interpreter of its own. The parent sends each batch as its statements
(``Statement``: SQL, parameters, one row or many), pickled, over a socket pair,
and waits for the answer: empty once the COMMIT is fsynced, the error's text if
the transaction rolled back. The child and the in-thread path run the same
``transaction``.

The child inherits the store's lease (its open file description), so the lock
is held until both have exited: a new writer cannot load the store while a
child could still commit a batch of the old one. The child exits when the
socket closes, after the batch it is committing.

This file is also the child's program, run by path with the standard library
only (``python -I sqlite_child.py``): it starts in a few milliseconds, without
importing mkoba.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection

# (sql, parameters, many): ``many`` runs executemany over a sequence of rows.
Statement = tuple[str, Sequence[object], bool]
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
        ours, theirs = socket.socketpair()
        fds = [theirs.fileno()] if lease_fd is None else [theirs.fileno(), lease_fd]
        try:
            self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and file)
                [sys.executable, "-I", __file__, str(theirs.fileno())],
                pass_fds=fds,
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self._connection = Connection(ours.detach())
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
        return self._connection.fileno()

    def _send(self, message: object) -> None:
        try:
            self._connection.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as error:
            raise CommitFailed(f"the sqlite commit process stopped: {error!r}") from error

    def _answer(self) -> None:
        try:
            answer = self._connection.recv_bytes()
        except (EOFError, OSError) as error:
            raise CommitFailed(f"the sqlite commit process stopped: {error!r}") from error
        if answer:
            raise CommitFailed(answer.decode())

    def close(self) -> None:
        """Close the socket; the child finishes its batch, if any, and exits."""
        self._connection.close()
        try:
            self._process.wait(exit_wait_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def serve(fd: int) -> None:
    """The child: open the store, then commit each batch until the parent closes the socket."""
    # Interrupts are for the parent, which stops the writer and then closes the socket.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = Connection(fd)
    connection: sqlite3.Connection | None = None
    # Batches may already be queued behind one that failed, decided on the memory of
    # a writer that is now wrong: after a failure, nothing more commits.
    failure = b""
    while True:
        try:
            message = pickle.loads(channel.recv_bytes())  # noqa: S301 (our parent, a private socket)
        except (EOFError, OSError):
            break
        if failure:
            channel.send_bytes(failure)
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
            channel.send_bytes(f"sqlite commit failed: {error}".encode())
            failure = b"not committed: an earlier batch failed"
            continue
        channel.send_bytes(b"")
    if connection is not None:
        connection.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
    os._exit(0)
