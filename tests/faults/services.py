"""Private PostgreSQL and NATS servers for the fault suite: started, killed and restarted here.

The machine's shared servers are never touched: each suite run starts its own
``nats-server -js`` (its store in a temporary directory) and its own PostgreSQL
cluster (``initdb`` in a temporary directory, a unix socket in it, trust auth),
each on a free port that stays the same across restarts, so clients reconnect
to the address they were given.

PostgreSQL refuses to run as root: as root, the cluster runs as the ``postgres``
user in a directory under /tmp that user owns (pytest's own temporary folders
are private to root). Each server runs in a process group of its own, so that a
kill -9 takes the postmaster and every backend at once, as a crashed machine
would.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import psycopg

NATS_SERVER = os.environ.get("MKOBA_FAULTS_NATS_SERVER", "/usr/sbin/nats-server")
POSTGRES_BIN = Path(os.environ.get("MKOBA_FAULTS_POSTGRES_BIN", "/usr/local/bin"))
# How long a server may take to accept connections after a (re)start.
start_timeout_s = 30.0
# How long a stopped server may take to exit before it is killed.
stop_timeout_s = 15.0


def free_port() -> int:
    """A TCP port nobody listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def missing() -> str | None:
    """Why the private servers cannot run here, or None when they can."""
    if not Path(NATS_SERVER).exists():
        return f"no nats-server at {NATS_SERVER}"
    for tool in ("initdb", "postgres"):
        if not (POSTGRES_BIN / tool).exists():
            return f"no {tool} in {POSTGRES_BIN}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run PostgreSQL as"
    return None


class Server:
    """A server process in its own process group: start, kill -9, stop, restart, pause."""

    name = "server"

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / f"{self.name}.log"
        self._output: IO[bytes] | None = None

    def command(self) -> list[str]:
        """The server's command line."""
        raise NotImplementedError

    def popen_options(self) -> dict[str, Any]:
        """Extra ``Popen`` arguments (the user to run as)."""
        return {}

    def ready(self) -> bool:
        """Whether the server serves."""
        return listening(self.port)

    def start(self) -> None:
        """Start the server and wait until it serves."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self._output = open(self.log, "ab")  # noqa: SIM115 (closed when the process ends)
        self.process = subprocess.Popen(
            self.command(),
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self.popen_options(),
        )
        deadline = time.monotonic() + start_timeout_s
        while not self.ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start: {self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} did not serve in {start_timeout_s}s: {self.tail()}"
                )
            time.sleep(0.1)

    @property
    def running(self) -> bool:
        """Whether the server's process is alive."""
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9 the whole process group (the server and any children)."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(stop_timeout_s)
        self._wait_group_gone()
        self._close_output()

    def stop(self) -> None:
        """Ask the server to stop (SIGTERM), kill -9 it if it takes too long."""
        if self.process is None or self.process.poll() is not None:
            self._close_output()
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(stop_timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
        self._wait_group_gone()
        self._close_output()

    def pause(self) -> None:
        """SIGSTOP the whole process group."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT the whole process group."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGCONT)

    def restart(self) -> None:
        """Start again on the same port and data (after a kill or a stop)."""
        assert not self.running, "stop or kill it first"
        self.start()

    def tail(self, chars: int = 2000) -> str:
        """The end of the server's log."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def _wait_group_gone(self) -> None:
        """Wait until no process of the group is left (a postmaster's backends)."""
        assert self.process is not None
        deadline = time.monotonic() + stop_timeout_s
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def _close_output(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None


class PrivateNats(Server):
    """``nats-server -js`` on a free port, its JetStream store in ``folder``."""

    name = "nats"

    def command(self) -> list[str]:
        """nats-server with JetStream, on loopback, its store in the folder."""
        store = self.folder / "jetstream"
        return [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(store)]

    @property
    def url(self) -> str:
        """``nats://127.0.0.1:port`` (add ``/prefix`` for a bus)."""
        return f"nats://127.0.0.1:{self.port}"


class PrivatePostgres(Server):
    """A PostgreSQL cluster of its own: ``initdb`` once, then ``postgres`` on a free port."""

    name = "postgres"

    def __init__(self, folder: Path, port: int) -> None:
        # Root: the cluster lives under /tmp, owned by the user it runs as.
        self.user = "postgres" if os.geteuid() == 0 else None
        self.home = Path(tempfile.mkdtemp(prefix="mkoba-faults-pg-"))
        super().__init__(folder, port)
        self.data = self.home / "data"
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.home, entry.pw_uid, entry.pw_gid)
        self._initdb()

    def popen_options(self) -> dict[str, Any]:
        """As root: run as the postgres user."""
        if self.user is None:
            return {}
        entry = pwd.getpwnam(self.user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [], "cwd": self.home}

    def _initdb(self) -> None:
        command = [
            str(POSTGRES_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **self.popen_options(),
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stdout}{done.stderr}")

    def command(self) -> list[str]:
        """postgres on loopback and a unix socket in its own folder.

        ``fsync=off``: a kill -9 of the server loses nothing the kernel was given (only
        a machine crash would), so the suite keeps the disk out of its timings.
        """
        return [
            str(POSTGRES_BIN / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-k",
            str(self.home),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "max_connections=200",
        ]

    def ready(self) -> bool:
        """Whether a query succeeds (the port opens before recovery ends)."""
        try:
            with psycopg.connect(self.url(), connect_timeout=2) as connection:
                connection.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def url(
        self, database: str = "postgres", schema: str | None = None, port: int | None = None
    ) -> str:
        """A URL for ``database`` (its ``schema``), through ``port`` (e.g. a proxy's)."""
        base = f"postgresql://postgres@127.0.0.1:{port or self.port}/{database}"
        return base if schema is None else f"{base}?schema={schema}"

    def execute(self, statement: str) -> None:
        """Run one statement outside a transaction (CREATE DATABASE) as the superuser."""
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as connection:
            connection.execute(statement.encode())

    def remove(self) -> None:
        """Stop the server and delete its directory (kept with ``MKOBA_FAULTS_KEEP=1``)."""
        self.stop()
        if os.environ.get("MKOBA_FAULTS_KEEP") == "1":
            print(f"PostgreSQL data kept in {self.data} (MKOBA_FAULTS_KEEP=1)")
            return
        shutil.rmtree(self.home, ignore_errors=True)
