"""The ledger writer's lease on PostgreSQL: one row, a fencing token, the database's clock.

Two writers on one ledger would each trust their own memory and diverge, so one
writer holds the ledger's lease: a row of ``ledger_lease`` naming its holder
(host:pid:random), a token, and when it expires, always on the database's clock
(``clock_timestamp()``), never a host's.

- **Taking it** is one statement: insert the row, or take over one that has
  expired with ``token + 1``. A held lease is left alone; the caller waits (a
  standby core polls, ``mkoba.standby``) or refuses to start.
- **Fencing**: every commit transaction of the writer first renews the lease
  ``WHERE token = <ours>``. Under READ COMMITTED a takeover that committed first
  leaves that UPDATE no row to match; one still running holds the row lock and
  the UPDATE waits for it, then matches no row. Either way the batch is not
  committed and ``LeaseLost`` is raised: a writer that lost its lease never
  commits again. The writer's commit process (``postgres_child.py``) runs the
  batch in one pipeline, so its fence is ``ledger_lease_fence()``, which raises
  (``FENCED_SQLSTATE``) where the renewal matches no row: nothing after it runs.
- **Renewing when idle**: a heartbeat thread, on a connection of its own,
  renews the lease every ttl/3. A renewal that matches no row means another
  took the lease; one that fails (the server is gone) past the expiry means
  another may have: either way the lease is lost, for good.
- **A hung holder does not hold a takeover back**: the writer's sessions end an
  idle transaction after ``idle_transaction_s`` and close a silent connection on
  TCP keepalives; a takeover waits at most ``takeover_lock_s`` for the row lock,
  and once the lease has been expired for a whole ttl more (its holder stopped
  in mid-transaction), it ends the holder's sessions, found by their
  ``application_name``.

A store that never took the lease (a front, a tool, a test) commits unfenced.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import psycopg

from mkoba.ledger.store.base import LeaseLost, StoreError
from mkoba.ledger.store.postgres_child import FENCED_SQLSTATE

log = logging.getLogger("mkoba.ledger")

# The row's name: one lease per ledger schema.
LEASE_NAME = "ledger"
# How long a lease lasts unless renewed (``MKOBA_LEASE_S``).
lease_ttl_s_default = 5.0
# A takeover waits at most this long for the row lock of a holder mid-commit.
takeover_lock_s = 1.0
# A writer's session ends an open transaction idle for this long (a stopped process).
idle_transaction_s = 2
# Server-side keepalives on the writer's sessions: a vanished client is noticed in
# about idle + interval * count seconds, and its transaction (and row lock) ends.
keepalive_idle_s = 2
keepalive_interval_s = 1
keepalive_count = 3
# How soon a failed renewal is tried again (renewals are every ttl/3 otherwise).
renew_retry_s = 0.5
# The lease's own connection notices a server gone silent (a partition) by itself.
keepalives: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": keepalive_idle_s,
    "keepalives_interval": keepalive_interval_s,
    "keepalives_count": keepalive_count,
}
# How long closing waits for the heartbeat to finish a renewal.
close_wait_s = 2.0

_TABLE = """
CREATE TABLE IF NOT EXISTS ledger_lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token BIGINT NOT NULL CHECK (token > 0),
    expires TIMESTAMPTZ NOT NULL
)
"""
# Insert the lease, or take over an expired one with the next token; no row: held.
_TAKE = """
INSERT INTO ledger_lease AS lease (name, holder, token, expires)
VALUES (%(name)s, %(holder)s, 1, clock_timestamp() + %(ttl)s * interval '1 second')
ON CONFLICT (name) DO UPDATE
    SET holder = EXCLUDED.holder, token = lease.token + 1, expires = EXCLUDED.expires
    WHERE lease.expires < clock_timestamp()
RETURNING token
"""
# The fence of a commit that cannot read the renewal's row count before its COMMIT is
# sent (a pipeline): the renewal, and an error where it matched no row.
_FENCE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION ledger_lease_fence(
    lease_name TEXT, lease_token BIGINT, ttl_s DOUBLE PRECISION
) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_lease SET expires = clock_timestamp() + ttl_s * interval '1 second'
        WHERE name = lease_name AND token = lease_token;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the ledger lease is no longer token %', lease_token
            USING ERRCODE = '{FENCED_SQLSTATE}';
    END IF;
END $$
"""
FENCE = "SELECT ledger_lease_fence(%s, %s, %s)"
_RENEW = (
    "UPDATE ledger_lease SET expires = clock_timestamp() + %s * interval '1 second'"
    " WHERE name = %s AND token = %s"
)
_READ = (
    "SELECT holder, token, EXTRACT(EPOCH FROM expires - clock_timestamp())::float8,"
    " EXTRACT(EPOCH FROM expires)::float8 FROM ledger_lease WHERE name = %s"
)
# Released: the next takeover finds it expired at once.
_RELEASE = "UPDATE ledger_lease SET expires = clock_timestamp() WHERE name = %s AND token = %s"
_END_SESSIONS = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
    " WHERE application_name = %s AND pid <> pg_backend_pid()"
)


class LeaseState(NamedTuple):
    """The lease as one look saw it."""

    # Whether this store holds it (now).
    held: bool
    holder: str
    token: int
    # Seconds until it expires, on the database's clock (negative: expired).
    expires_in_s: float
    # When it expires (Unix seconds, the database's clock): a later one means renewed.
    expires_at: float = 0.0


def session_name(holder: str) -> str:
    """The ``application_name`` of a holder's sessions (a takeover may end them)."""
    return f"mkoba ledger writer {holder.rsplit(':', 1)[-1]}"


class Lease:
    """This store's claim on the ledger: taken, renewed, checked at each commit, or lost."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection],
        ttl_s: float = lease_ttl_s_default,
        where: str = "this database",
        name: str = LEASE_NAME,
    ) -> None:
        assert ttl_s > 0
        self._connect = connect
        self.ttl_s = ttl_s
        self.where = where
        self.name = name
        self.holder = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        # 0: never held. Set once, when taken; a lost lease is never taken again.
        self.token = 0
        self.lost: LeaseLost | None = None
        # Told once, on whichever thread finds the lease lost (a commit, the heartbeat).
        self.on_lost: Callable[[LeaseLost], None] | None = None
        self.fenced_commits = 0
        self._connection: psycopg.Connection | None = None
        self._table_made = False
        self._lock = threading.Lock()  # the lease's own connection
        self._lost_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # When our last renewal expires at the earliest (local monotonic clock).
        self._valid_until = 0.0

    # -- taking it ------------------------------------------------------------------------

    def try_take(self) -> LeaseState:
        """One attempt: take the lease if it is free or expired; how it stands after."""
        if self.lost is not None:
            raise self.lost
        if self.token:
            return LeaseState(True, self.holder, self.token, self.ttl_s)
        with self._lock:
            try:
                return self._take_once()
            except psycopg.Error as error:
                self._drop_connection()
                message = f"taking the ledger lease failed: {type(error).__name__}"
                raise StoreError(message) from None

    def take(self, margin_s: float) -> None:
        """Take the lease, waiting for a silent holder's to expire; ``StoreError`` if held.

        A holder that renews its lease meanwhile is alive: refused at once. One that
        does not is waited for until its lease expires (and ``margin_s`` more).
        """
        first = self.try_take()
        deadline = time.monotonic() + max(0.0, first.expires_in_s) + margin_s
        state = first
        while not state.held:
            renewed = state.token != first.token or state.expires_at > first.expires_at
            if renewed or time.monotonic() > deadline:
                raise StoreError(
                    f"another ledger writer is running on {self.where}: {state.holder} holds"
                    f" the lease (token {state.token}, expiring in"
                    f" {max(state.expires_in_s, 0.0):.1f} s)"
                )
            time.sleep(min(renew_retry_s, max(0.05, state.expires_in_s)))
            state = self.try_take()

    def _take_once(self) -> LeaseState:
        connection = self._open()
        started = time.monotonic()
        try:
            if not self._table_made:
                with connection.transaction():
                    # Two writers creating it at once would race: the migrations' lock.
                    connection.execute("SELECT pg_advisory_xact_lock(7243)")
                    connection.execute(_TABLE)
                    connection.execute(_FENCE_FUNCTION.encode())
                self._table_made = True
            with connection.transaction():
                connection.execute(f"SET LOCAL lock_timeout = {int(takeover_lock_s * 1000)}")
                parameters = {"name": self.name, "holder": self.holder, "ttl": self.ttl_s}
                row = connection.execute(_TAKE, parameters).fetchone()
        except psycopg.errors.LockNotAvailable:
            # The holder is mid-commit, or stopped mid-commit: end it if long expired.
            state = self._read(connection)
            if state.expires_in_s < -self.ttl_s:
                self._end_sessions(connection, state)
            return state
        if row is None:
            return self._read(connection)
        self.token = int(row[0])
        self._valid_until = started + self.ttl_s
        self._start_heartbeat()
        return LeaseState(True, self.holder, self.token, self.ttl_s)

    def _read(self, connection: psycopg.Connection) -> LeaseState:
        row = connection.execute(_READ, (self.name,)).fetchone()
        if row is None:  # deleted by hand meanwhile: the next attempt inserts it
            return LeaseState(False, "nobody", 0, 0.0)
        holder, token, expires_in_s, expires_at = row
        return LeaseState(False, str(holder), int(token), float(expires_in_s), float(expires_at))

    def _end_sessions(self, connection: psycopg.Connection, state: LeaseState) -> None:
        row = connection.execute(_END_SESSIONS, (session_name(state.holder),)).fetchone()
        ended = int(row[0]) if row else 0
        log.warning(
            "the ledger lease of %s (token %d) expired %.1f s ago and its holder still"
            " holds it mid-transaction: ended %d of its sessions",
            state.holder,
            state.token,
            -state.expires_in_s,
            ended,
        )

    # -- holding it -----------------------------------------------------------------------

    def hold(self, writer: psycopg.Connection, margin_s: float) -> None:
        """Make ``writer`` (a new writer connection) this lease's: take it first if need be."""
        if self.lost is not None:
            raise self.lost
        if not self.token:
            self.take(margin_s)
        configure(writer, self.holder)

    def fence(self, cursor: psycopg.Cursor[Any]) -> None:
        """In a commit transaction: renew the lease, or ``LeaseLost`` (nothing commits)."""
        if not self.token:
            return  # never a writer here: a tool or a test commits unfenced
        if self.lost is not None:
            raise self.lost
        cursor.execute(_RENEW, (self.ttl_s, self.name, self.token))
        if cursor.rowcount == 1:
            return
        row = cursor.execute("SELECT token FROM ledger_lease WHERE name = %s", (self.name,))
        found = row.fetchone()
        raise self._lose(int(found[0]) if found else 0, fenced=True)

    def fence_statement(self) -> tuple[str, tuple[object, ...]] | None:
        """A commit transaction's first statement: it renews the lease or fails the batch.

        None where the lease was never held (a tool or a test commits unfenced);
        ``LeaseLost`` once it is lost. A batch it failed goes to ``fenced``.
        """
        if not self.token:
            return None
        if self.lost is not None:
            raise self.lost
        return FENCE, (self.name, self.token, self.ttl_s)

    def fenced(self, connection: psycopg.Connection | None) -> LeaseLost:
        """A commit was refused by its fence: the lease is lost, to the row's token now."""
        token = 0
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                row = connection.execute(
                    "SELECT token FROM ledger_lease WHERE name = %s", (self.name,)
                ).fetchone()
                token = int(row[0]) if row else 0
        return self._lose(token, fenced=True)

    def session(self) -> tuple[str, tuple[str, ...]]:
        """The statement ``configure`` runs, for a session of this holder's opened elsewhere."""
        return _SESSION, session_parameters(self.holder)

    def _lose(self, token: int, *, fenced: bool = False) -> LeaseLost:
        """The lease is gone for good: remember it, tell ``on_lost`` once, and return it."""
        with self._lost_lock:
            if fenced:
                self.fenced_commits += 1
            first = self.lost is None
            if first:
                self.lost = LeaseLost(token, self.token)
            lost = self.lost
            assert lost is not None
        self._stop.set()
        if first and self.on_lost is not None:
            self.on_lost(lost)
        return lost

    # -- renewing it ----------------------------------------------------------------------

    def _start_heartbeat(self) -> None:
        assert self._thread is None
        self._thread = threading.Thread(target=self._beat, name="ledger-lease", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        wait_s = self.ttl_s / 3
        while not self._stop.wait(wait_s):
            started = time.monotonic()
            try:
                with self._lock:
                    token = self._renew()
            except psycopg.Error as error:
                with self._lock:
                    self._drop_connection()
                if time.monotonic() < self._valid_until:
                    log.warning("renewing the ledger lease failed: %s", type(error).__name__)
                    wait_s = renew_retry_s
                    continue
                self._lose(0)  # expired unrenewed: another may hold it now
                return
            if token != self.token:
                self._lose(token)
                return
            self._valid_until = started + self.ttl_s
            wait_s = self.ttl_s / 3

    def _renew(self) -> int:
        """Renew on the lease's own connection: our token, or the holder's if it is gone."""
        connection = self._open()
        cursor = connection.execute(_RENEW, (self.ttl_s, self.name, self.token))
        if cursor.rowcount == 1:
            return self.token
        row = connection.execute(_READ, (self.name,)).fetchone()
        return int(row[1]) if row else 0

    def _open(self) -> psycopg.Connection:
        connection = self._connection
        if connection is None or connection.closed or connection.broken:
            connection = self._connect()
            configure(connection, self.holder)
            self._connection = connection
        return connection

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()

    # -- reporting and letting go ----------------------------------------------------------

    def fresh(self) -> bool:
        """Whether the lease is surely still ours: held, not lost, and renewed less than
        three quarters of its time ago by this process's own clock. A process that was
        paused past its lease says False at once, before its heartbeat finds out."""
        if self.lost is not None or not self.token:
            return False
        return time.monotonic() < self._valid_until - self.ttl_s / 4

    def report(self) -> dict[str, object]:
        """For /health: held (with the token) or lost (to which token)."""
        if self.lost is not None:
            return {"state": "lost", "token": self.token, "lost_to": self.lost.token}
        if self.token:
            return {"state": "held", "token": self.token, "holder": self.holder}
        return {"state": "not held"}

    def stop_renewing(self) -> None:
        """Stop the heartbeat; the lease then expires unless a commit renews it."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(close_wait_s)

    def close(self) -> None:
        """Stop renewing and release a lease still held, so a standby takes it at once."""
        self.stop_renewing()
        if not self._lock.acquire(timeout=close_wait_s):
            return  # the heartbeat is stuck on a dead server: the lease expires by itself
        try:
            if self.token and self.lost is None:
                with contextlib.suppress(psycopg.Error):
                    self._open().execute(_RELEASE, (self.name, self.token))
            self._drop_connection()
        finally:
            self._lock.release()


_SESSION = (
    "SELECT set_config('application_name', %s, false),"
    " set_config('idle_in_transaction_session_timeout', %s, false),"
    " set_config('tcp_keepalives_idle', %s, false),"
    " set_config('tcp_keepalives_interval', %s, false),"
    " set_config('tcp_keepalives_count', %s, false)"
)


def session_parameters(holder: str) -> tuple[str, ...]:
    """``configure``'s settings for ``holder``'s sessions."""
    return (
        session_name(holder),
        f"{idle_transaction_s}s",
        str(keepalive_idle_s),
        str(keepalive_interval_s),
        str(keepalive_count),
    )


def configure(connection: psycopg.Connection, holder: str) -> None:
    """Name a holder's session and bound how long a hung or vanished client keeps it.

    A takeover ends a stuck holder's sessions by that name: the writer's, its lease's
    and its commit process's.
    """
    connection.execute(_SESSION, session_parameters(holder))
