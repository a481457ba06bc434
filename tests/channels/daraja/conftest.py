"""Fixtures for the Daraja channel's in-process tests: one loop and one store of each kind.

Each module starts a platform once per store, without the big demo world, with
the Daraja sandbox loaded (its app, shortcodes and test customer), and talks to
it through the ASGI app in process; callbacks go to a real loopback listener.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.compat.listener import Listener


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Every async test and fixture of a module on one asyncio loop."""
    return "asyncio"


@pytest.fixture
def listener() -> Iterator[Listener]:
    """The businesses' callback receiver, fresh for each test (and each store)."""
    running = Listener()
    try:
        yield running
    finally:
        running.close()
