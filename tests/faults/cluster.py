"""``mkoba serve`` processes in roles, as an operator runs the cluster form, and their faults.

A ``Cluster`` is one core (and, if asked, a second core that stands by for the
ledger's lease) and any number of fronts on one PostgreSQL schema and one NATS
bus prefix, sharing a keys directory (the fronts seal PINs with the core's
transport key). Each ``Node`` is a real subprocess on a port of its own
that it keeps across restarts, so clients and load balancers keep its address.
The faults: kill -9, SIGSTOP/SIGCONT, a clean stop, a restart on the same port.

A node counts as started once its HTTP server answers ``/health`` at all (it
serves only after the platform's start has finished): what ``/health`` says is
itself under test (finding: health lies), so the harness does not trust it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from tests.faults.services import free_port

# A core's first start on an empty store loads the demo data.
start_timeout_s = 90.0
stop_timeout_s = 30.0


@dataclass
class Node:
    """One ``mkoba serve`` process in a role, on a fixed port."""

    name: str
    role: str
    folder: Path
    settings: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    # Held while the process is started, killed or stopped (the supervisor's thread too).
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    # Whether the test wants the process running (false once it kills or stops it).
    wanted: bool = False
    _output: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """Where the node answers HTTP."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        """The node's output, every start appended."""
        return self.folder / f"{self.name}.log"

    @property
    def running(self) -> bool:
        """Whether the process is alive (it may be stopped by SIGSTOP)."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the process and wait until it serves HTTP."""
        self.launch()
        self.wait_serving(start_timeout_s)

    def exited_on_its_own(self) -> int | None:
        """The exit status of a process that ended without the test's asking, else None."""
        if not self.wanted or self.process is None:
            return None
        return self.process.poll()

    def launch(self) -> None:
        """Start the process (``wait_serving`` waits for it to serve)."""
        with self.lock:
            self._launch()

    def _launch(self) -> None:
        assert not self.running, f"{self.name} is running"
        self._close_output()
        env = {key: value for key, value in os.environ.items() if not key.startswith("MKOBA_")}
        env.update({f"MKOBA_{key.upper()}": value for key, value in self.settings.items()})
        env |= {"MKOBA_ROLE": self.role, "MKOBA_PORT": str(self.port)}
        command = [sys.executable, "-c", "from mkoba.cli import main; main()", "serve"]
        self._output = open(self.log, "ab")  # noqa: SIM115 (closed when the process ends)
        self._output.write(f"\n=== start {self.starts + 1} of {self.name}\n".encode())
        self._output.flush()
        self.process = subprocess.Popen(
            command, env=env, stdout=self._output, stderr=subprocess.STDOUT
        )
        self.starts += 1
        self.wanted = True

    def wait_serving(self, timeout_s: float) -> None:
        """Wait until ``/health`` answers (whatever it says); RuntimeError if it does not."""
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{self.url}/health", timeout=2.0)
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not serve in {timeout_s}s: {self.tail()}")

    def health(self) -> tuple[int, dict[str, object]] | None:
        """``/health``'s status and body, or None when nothing answers."""
        try:
            answer = httpx.get(f"{self.url}/health", timeout=2.0)
        except httpx.HTTPError:
            return None
        return answer.status_code, answer.json()

    def says(self) -> object:
        """The ``status`` ``/health`` names ("ok", "standby", ...), or None without an answer."""
        found = self.health()
        return None if found is None else found[1].get("status")

    def wait_standing_by(self, timeout_s: float) -> None:
        """Wait until ``/health`` says "standby"; RuntimeError if it does not."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            if self.says() == "standby":
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not stand by in {timeout_s}s: {self.tail()}")

    def kill(self) -> None:
        """kill -9."""
        with self.lock:
            assert self.process is not None
            self.wanted = False
            self.process.kill()
            self.process.wait(stop_timeout_s)
            self._close_output()

    def pause(self) -> None:
        """SIGSTOP: the process holds its sockets and locks and does nothing."""
        assert self.running
        self.process.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]

    def resume(self) -> None:
        """SIGCONT."""
        assert self.running
        self.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]

    def stop(self) -> bool:
        """SIGTERM (a clean stop), kill -9 after ``stop_timeout_s``; whether it stopped in time.

        uvicorn finishes its shutdown, then raises the SIGTERM it caught again: a clean
        stop exits by SIGTERM (or 0), never by the SIGKILL sent after the timeout.
        """
        with self.lock:
            self.wanted = False
        if self.process is None or self.process.poll() is not None:
            self._close_output()
            return True
        self.process.send_signal(signal.SIGCONT)  # a paused process cannot stop
        self.process.terminate()
        try:
            self.process.wait(stop_timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return False
        finally:
            self._close_output()
        return self.process.returncode in (0, -signal.SIGTERM)

    def restart(self) -> None:
        """Start again on the same port (after a kill or a stop)."""
        self.start()

    def tail(self, chars: int = 3000) -> str:
        """The end of the node's log."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def lines(self, *needles: str) -> list[str]:
        """The log lines holding any of ``needles`` (evidence for a report)."""
        if not self.log.exists():
            return []
        text = self.log.read_text(errors="replace")
        return [line for line in text.splitlines() if any(n in line for n in needles)]

    def _close_output(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None


@dataclass
class Cluster:
    """Cores and their fronts on one store (``db``) and one bus (``bus``).

    The first core is started first and holds the ledger's lease; any other stands by.
    """

    folder: Path
    db: str
    bus: str
    cores: list[Node]
    fronts: list[Node]

    @classmethod
    def make(
        cls,
        folder: Path,
        db: str,
        bus: str,
        fronts: int = 2,
        core_db: str | None = None,
        standby: bool = False,
        **settings: str,
    ) -> Cluster:
        """Nodes (not started): the cores reach the store at ``core_db`` (e.g. a proxy).

        ``standby``: a second core, "core-b", that stands by behind the first.
        ``settings`` are more ``MKOBA_*`` settings for every node (``request_timeout_s="10"``).
        """
        shared = {
            "bus": bus,
            "keys_dir": str(folder / "keys"),
            "console_port": "0",
            "log_level": "warning",
            "mail_dir": str(folder / "mail"),
            # Quick sandbox answers, as the compatibility suite runs.
            "daraja_auto_answer_s": "0.1",
            "daraja_callback_timeout_s": "1",
            # The load pays between a few wallets far faster than any person: the fraud
            # rules would hold it (R1). The scenarios test crash semantics; docs/risk.md
            # and tests/risk test the rules.
            "risk_rules": "false",
            **settings,
        }
        names = ["core", "core-b"] if standby else ["core"]
        cores = [Node(name, "core", folder, shared | {"db": core_db or db}) for name in names]
        nodes = [Node(f"front{i + 1}", "front", folder, shared | {"db": db}) for i in range(fronts)]
        return cls(folder, db, bus, cores, nodes)

    @property
    def core(self) -> Node:
        """The core started first: the active one until a fault."""
        return self.cores[0]

    @property
    def nodes(self) -> list[Node]:
        """Every node, the cores first."""
        return [*self.cores, *self.fronts]

    def start(self) -> None:
        """The core first (it makes the schema), then the standby and the fronts side by side.

        The standby is started only once it says that it stands by.
        """
        self.core.start()
        later = [*self.cores[1:], *self.fronts]
        for node in later:
            node.launch()
        for node in later:
            node.wait_serving(start_timeout_s)
        for node in self.cores[1:]:
            node.wait_standing_by(start_timeout_s)

    def stop(self) -> list[str]:
        """Stop the fronts, the cores standing by, then the active core; those not stopped cleanly.

        Stopped first, the active core would release its lease to a standby, which would
        take over only to be stopped.
        """
        spare = len(self.cores) > 1
        waiting = [n for n in self.cores if spare and n.running and n.says() == "standby"]
        active = [node for node in reversed(self.cores) if node not in waiting]
        order = [*reversed(self.fronts), *waiting, *active]
        return [node.name for node in order if not node.stop()]
