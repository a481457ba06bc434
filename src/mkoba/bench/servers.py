"""Server processes a bench starts: a free loopback port, a child process up until it answers."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
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
) -> Iterator[str]:
    """Run ``command`` (output to ``log``) until the block ends; ``url`` once it answers."""
    with open(log, "wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_up(url, process, path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
