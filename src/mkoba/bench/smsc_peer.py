"""The SMSC the SMS and SIM benches run against: the npm ``smpp`` server of the tests.

``tests/channels/sms/peer/smsc.js`` (``npm ci`` there first) speaks SMPP on one
free port and takes control calls (phones sending, its settings, its counters)
over HTTP on another. A bench runs it from the repository's root, so ``src``
never imports ``tests``: it only starts the script.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PEER = Path("tests/channels/sms/peer")
USER, PASSWORD = "esme1", "secret"
stop_timeout_s = 10.0


@dataclass(frozen=True)
class PeerPorts:
    """Where a running peer listens (127.0.0.1)."""

    pid: int
    smpp: int
    control: int

    @property
    def smpp_url(self) -> str:
        """The ``MKOBA_SMPP`` setting (or ``--smsc``) that binds to the peer."""
        return f"smpp://{USER}:{PASSWORD}@127.0.0.1:{self.smpp}"

    @property
    def control_url(self) -> str:
        """The base URL of its control API."""
        return f"http://127.0.0.1:{self.control}"


def start_peer() -> tuple[subprocess.Popen[str], PeerPorts]:
    """Start the peer on free ports; exit saying what to install when it cannot run."""
    node = shutil.which("node")
    if node is None or not (PEER / "node_modules" / "smpp").exists():
        raise SystemExit(
            f"needs Node.js and the peer installed: (cd {PEER} && npm ci), run from the repo root"
        )
    process = subprocess.Popen(  # noqa: S603 (node and our own script)
        [node, "smsc.js"],
        cwd=PEER,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={"SMSC_PORT": "0", "CONTROL_PORT": "0", "PATH": "/usr/bin:/bin"},
    )
    assert process.stdout is not None
    ports = json.loads(process.stdout.readline())
    return process, PeerPorts(process.pid, int(ports["smpp"]), int(ports["control"]))


def stop_peer(process: subprocess.Popen[str]) -> None:
    """Stop the peer this bench started (by its pid)."""
    process.terminate()
    try:
        process.wait(stop_timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


@contextlib.contextmanager
def running_peer() -> Iterator[PeerPorts]:
    """The peer, running until the block ends."""
    process, ports = start_peer()
    try:
        yield ports
    finally:
        stop_peer(process)
