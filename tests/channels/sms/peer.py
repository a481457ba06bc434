"""The SMSC peer: the npm ``smpp`` server driven by ``peer/smsc.js``, started and stopped by pid.

``npm ci`` installs it into ``peer/node_modules`` on first use (the npm registry
must be reachable); without Node the tests fail and say what to install.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

PEER = Path(__file__).parent / "peer"
USER, PASSWORD = "esme1", "secret"


def install() -> None:
    """``npm ci`` the peer once; fail with the reason when it cannot be done."""
    if (PEER / "node_modules" / "smpp" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        pytest.fail("the SMPP tests need Node.js 20 and npm (apt-get install nodejs npm)")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=PEER,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"npm ci in {PEER} failed:\n{done.stdout}\n{done.stderr}")


class Peer:
    """A running SMSC simulator and its control API."""

    def __init__(self) -> None:
        install()
        node = shutil.which("node")
        assert node is not None
        self.process = subprocess.Popen(
            [node, str(PEER / "smsc.js")],
            cwd=PEER,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={"SMSC_PORT": "0", "CONTROL_PORT": "0", "PATH": "/usr/bin:/bin"},
        )
        assert self.process.stdout is not None
        ports = json.loads(self.process.stdout.readline())
        self.port = int(ports["smpp"])
        self.control = httpx.Client(base_url=f"http://127.0.0.1:{ports['control']}", timeout=10)

    @property
    def url(self) -> str:
        """The ``MKOBA_SMPP`` setting that binds to this peer."""
        return f"smpp://{USER}:{PASSWORD}@127.0.0.1:{self.port}"

    def config(self, **settings: Any) -> dict[str, Any]:
        """Change how the SMSC behaves (see smsc.js)."""
        return dict(self.control.post("/config", json=settings).json())

    def reset(self) -> None:
        """Default behaviour, zero counters, no messages."""
        self.control.post("/reset")

    def stats(self) -> dict[str, int]:
        """The SMSC's counters."""
        return dict(self.control.get("/stats").json())

    def messages(self, dest: str | None = None) -> list[dict[str, Any]]:
        """Messages the SMSC accepted (to ``dest``): ``hex`` is each one's short_message."""
        params = {"dest": dest} if dest else {}
        return list(self.control.get("/messages", params=params).json())

    def mo(self, sender: str, to: str, text: str) -> None:
        """A phone sends an SMS: deliver_sm to every bound ESME."""
        self.control.post("/mo", json={"from": sender, "to": to, "text": text})

    def mo_binary(
        self,
        sender: str,
        to: str,
        user_data: bytes,
        *,
        protocol_id: int = 0x7F,
        data_coding: int = 0xF6,
        esm_class: int = 0x40,
    ) -> None:
        """A phone sends 8-bit user data (UDH included), by default as SIM data download."""
        body = {
            "from": sender,
            "to": to,
            "hex": user_data.hex(),
            "protocol_id": protocol_id,
            "data_coding": data_coding,
            "esm_class": esm_class,
        }
        self.control.post("/mo", json=body)

    def drop(self) -> None:
        """Cut every SMPP connection at once."""
        self.control.post("/drop")

    def wait(self, check: Any, timeout_s: float = 10.0) -> Any:
        """Poll ``check()`` until it returns something truthy."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError("the SMSC never got there")

    def stop(self) -> None:
        """Stop the simulator (by its pid)."""
        self.control.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
