"""A real SMSC peer (npm smpp server) for the SMS and SIM-toolkit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.channels.sms.peer import Peer


@pytest.fixture(scope="module")
def peer() -> Iterator[Peer]:
    """The SMSC simulator, fresh for each test module and reset for each test."""
    running = Peer()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def smsc(peer: Peer) -> Peer:
    """The module's SMSC with default behaviour and zero counters."""
    peer.reset()
    return peer
