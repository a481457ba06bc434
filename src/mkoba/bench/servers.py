"""Server processes a bench starts: a free loopback port, a child process up until it answers."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

start_timeout_s = 90.0


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_up(url: str, process: subprocess.Popen[bytes], path: str) -> None:
    """Return once ``url + path`` answers 200; raise if the process exits or time runs out."""
    deadline = time.monotonic() + start_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + path, timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def running(
    command: list[str], env: dict[str, str], log: Path, url: str, path: str
) -> Iterator[tuple[str, int]]:
    """Run ``command`` (output to ``log``) until the block ends; ``url`` and its pid once up."""
    with open(log, "wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_up(url, process, path)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def mkoba_serve(
    folder: Path, db: str, role: str, bus: str, env: Mapping[str, str] = {}
) -> Iterator[tuple[str, int]]:
    """``mkoba serve --role role`` on ``db`` and ``bus``, keys in ``folder``; (URL, pid).

    The environment's own ``MKOBA_`` settings are left out: the bench decides them
    (``env`` adds to ``MKOBA_KEYS_DIR``, ``MKOBA_BUS``, ``MKOBA_ROLE`` and the rest).
    The fraud and AML rules are off: a channel's bench measures the channel, and its
    closed loops pay far faster than any person would (``bench processor --rules``
    measures the rules).
    """
    port = free_port()
    settings = {key: value for key, value in os.environ.items() if not key.startswith("MKOBA_")}
    settings.update(
        MKOBA_KEYS_DIR=str(folder / "keys"),
        MKOBA_CONSOLE_PORT="0",
        MKOBA_LOG_LEVEL="warning",
        MKOBA_BUS=bus,
        MKOBA_ROLE=role,
        MKOBA_RISK_RULES="false",
    )
    settings.update(env)
    command = [
        sys.executable,
        "-c",
        "from mkoba.cli import main; main()",
        "serve",
        "--db",
        db,
        "--port",
        str(port),
    ]
    log = folder / f"serve-{role}.log"
    with running(command, settings, log, f"http://127.0.0.1:{port}", "/health") as (url, pid):
        yield url, pid


def bench_bus(server: str) -> str:
    """A NATS bus URL on ``server`` with a prefix of its own: no running mkoba shares it."""
    return f"{server.rstrip('/')}/mkoba-bench-{os.getpid()}-{secrets.token_hex(3)}"


async def drop_stream(url: str) -> None:
    """Delete the JetStream stream of the bus ``url`` (a bench's, when it is done)."""
    import logging

    from mkoba.bus.jetstream import NatsBus

    bus = NatsBus(url)
    await bus.connect()
    # Closing reports a disconnection, as a running bus's would: not news here.
    quiet = logging.getLogger("mkoba.bus")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        await bus.client.jetstream().delete_stream(bus.stream)
    finally:
        await bus.close()
        quiet.setLevel(level)
