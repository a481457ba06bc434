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

from mkoba.bench.servers import free_port, running

PEER = "daraja-mock==1.0.5"
PEERS_DIR = Path("var/bench-peers/daraja-mock-1.0.5")


@contextlib.contextmanager
def serve_mkoba(folder: Path, role: str = "all", bus: str = "memory") -> Iterator[str]:
    """``mkoba serve`` answering the demo customers' prompts at once."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MKOBA_")}
    env.update(
        MKOBA_KEYS_DIR=str(folder / "keys"),
        MKOBA_CONSOLE_PORT="0",
        MKOBA_LOG_LEVEL="warning",
        MKOBA_DARAJA_SANDBOX_MSISDNS="2547120*",
        MKOBA_DARAJA_AUTO_ANSWER_S="0",
        MKOBA_BUS=bus,
        MKOBA_ROLE=role,
    )
    command = [
        sys.executable,
        "-c",
        "from mkoba.cli import main; main()",
        "serve",
        "--db",
        str(folder / "mkoba.db"),
        "--port",
        str(port),
    ]
    log = folder / f"serve-{role}.log"
    with running(command, env, log, f"http://127.0.0.1:{port}", "/health") as url:
        yield url


@contextlib.contextmanager
def serve_split(folder: Path, server: str) -> Iterator[str]:
    """A core and a front on a NATS bus of the run's own (its stream deleted after)."""
    bus = f"{server.rstrip('/')}/mkoba-bench-{os.getpid()}"
    try:
        with serve_mkoba(folder, "core", bus), serve_mkoba(folder, "front", bus) as url:
            yield url
    finally:
        uvloop.run(_drop_stream(bus))


async def _drop_stream(url: str) -> None:
    from mkoba.bus.jetstream import NatsBus

    bus = NatsBus(url)
    await bus.connect()
    try:
        await bus.client.jetstream().delete_stream(bus.stream)
    finally:
        await bus.close()


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
    with running(command, env, folder / "peer.log", f"http://127.0.0.1:{port}", "/health") as url:
        yield url
