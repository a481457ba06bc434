"""One ``mkoba serve`` and one callback listener for the compatibility suite.

The SDKs are the real ones from PyPI, unmodified, pointed at the loopback
server as docs/daraja.md says. When the suite ends, the server is stopped and
``mkoba reconcile`` must find its books balanced.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.channels.serving import Served, serve
from tests.compat.listener import Listener
from tests.compat.support import SETTINGS, reconcile


@pytest.fixture(scope="session")
def listener() -> Iterator[Listener]:
    """The businesses' callback receiver."""
    running = Listener()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The platform under test; its books are reconciled after the last test."""
    folder = tmp_path_factory.mktemp("compat")
    with serve(folder, **SETTINGS) as served:
        yield served
    checked = reconcile(served.db)
    assert checked.returncode == 0, checked.stdout + checked.stderr
