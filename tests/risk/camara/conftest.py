"""The CAMARA test operator (server.py) served by uvicorn on 127.0.0.1, for real.

Each test gets a fresh ``Operator`` behind a server in its own thread and event
loop, on a socket bound to a free port, so the client speaks real HTTP over TCP.
A response of the server that breaks the spec fails the test that caused it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import uvicorn

from tests.risk.camara.server import Client, Operator, Subscriber, base_path, build

CLIENT_ID = "mkoba-risk"
CLIENT_SECRET = "s3cret-client-" + "x" * 12  # made at import; never in an error
NOW = datetime.now(UTC)

#: The operator's table: canonical mkoba MSISDN -> the line.
SWAPPED_2H_AGO = "254712000001"
SWAPPED_10D_AGO = "254712000002"
NEVER_SWAPPED = "254712000003"
UNKNOWN = "254712999999"
OTHER_NETWORK = "254733000004"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Served:
    """A running operator: its API root, token URL and state."""

    api: str
    token_url: str
    operator: Operator


def _operator() -> Operator:
    operator = Operator()
    year_ago = NOW - timedelta(days=365)
    operator.subscribers = {
        "+" + SWAPPED_2H_AGO: Subscriber(year_ago, NOW - timedelta(hours=2)),
        "+" + SWAPPED_10D_AGO: Subscriber(year_ago, NOW - timedelta(days=10)),
        "+" + NEVER_SWAPPED: Subscriber(year_ago),
    }
    operator.not_served = {"+" + OTHER_NETWORK}
    operator.clients = {
        CLIENT_ID: Client(CLIENT_SECRET, frozenset({"sim-swap:check", "sim-swap:retrieve-date"}))
    }
    return operator


@pytest.fixture
def served() -> Iterator[Served]:
    """A fresh operator served on a free port until the test ends."""
    operator = _operator()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # log_config=None: uvicorn would otherwise replace the process's logging set-up
    # (its own handlers, no propagation) for every test after this one.
    config = uvicorn.Config(
        build(operator),
        log_level="warning",
        log_config=None,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the test operator did not start"
        time.sleep(0.01)
    root = f"http://127.0.0.1:{port}"
    try:
        yield Served(root + base_path(), root + "/oauth/token", operator)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    assert not operator.violations, operator.violations
