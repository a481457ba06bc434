"""The servers ``mkoba bench daraja`` pushes to: ``mkoba serve`` (one or split) and daraja-mock."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import uvloop
from rich.console import Console

from mkoba.bench.servers import bench_bus, drop_stream, free_port, mkoba_serve, running

PEER = "daraja-mock==1.0.5"
PEERS_DIR = Path("var/bench-peers/daraja-mock-1.0.5")


# The sandbox answers every demo customer's prompt at once, with the PIN.
_DARAJA_ENV = {"MKOBA_DARAJA_SANDBOX_MSISDNS": "2547120*", "MKOBA_DARAJA_AUTO_ANSWER_S": "0"}


@contextlib.contextmanager
def serve_mkoba(folder: Path, db: str, role: str = "all", bus: str = "memory") -> Iterator[str]:
    """``mkoba serve`` on ``db`` answering the demo customers' prompts at once."""
    with mkoba_serve(folder, db, role, bus, _DARAJA_ENV) as (url, _):
        yield url


@contextlib.contextmanager
def serve_split(folder: Path, db: str, server: str) -> Iterator[str]:
    """A core and a front on ``db`` and a NATS bus of their own (its stream deleted after)."""
    bus = bench_bus(server)
    try:
        with serve_mkoba(folder, db, "core", bus), serve_mkoba(folder, db, "front", bus) as url:
            yield url
    finally:
        uvloop.run(drop_stream(bus))


def peer_python(console: Console) -> Path:
    """The peer's interpreter: a venv of its own under var/, made on first use."""
    python = PEERS_DIR / "bin" / "python"
    if python.exists():
        return python
    console.print(f"[dim]installing {PEER} into {PEERS_DIR} (a benchmark peer only)[/dim]")
    PEERS_DIR.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEERS_DIR)], check=True)  # noqa: S603
    subprocess.run(  # noqa: S603
        [str(python), "-m", "pip", "install", "--quiet", PEER], check=True
    )
    return python


@contextlib.contextmanager
def serve_peer(folder: Path, console: Console) -> Iterator[str]:
    """daraja-mock on a free port."""
    python = peer_python(console)
    port = free_port()
    command = [str(python), "-m", "daraja_mock", "--port", str(port)]
    env = dict(os.environ)
    log = folder / "peer.log"
    with running(command, env, log, f"http://127.0.0.1:{port}", "/health") as (url, _):
        yield url
