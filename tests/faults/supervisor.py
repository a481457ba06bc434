"""A supervisor for the cluster's nodes, as systemd would be: a node that exits on its own
is started again.

The operations guide has a core exit when it cannot serve safely (it lost its
ledger lease, status 75) for its supervisor to restart it; a test that left such a
core down would measure the missing supervisor, not mkoba. The test's own kills and
stops are not exits on their own: those nodes stay down until the test starts them.
Every exit the supervisor saw is recorded, with its status, for the report.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from tests.faults.cluster import Node

# How long the supervisor waits before starting an exited node again (systemd's RestartSec).
restart_s = 1.0
poll_s = 0.2


class Supervisor:
    """Watches ``nodes`` on a thread of its own until ``close``."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.nodes = list(nodes)
        # Per node, the status of each exit on its own, in order.
        self.exits: dict[str, list[int | None]] = {node.name: [] for node in self.nodes}
        self._closing = threading.Event()
        self._exited_at: dict[str, float] = {}
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def close(self) -> None:
        """Stop watching (before the nodes are stopped)."""
        self._closing.set()
        self._thread.join(5.0)

    def _watch(self) -> None:
        while not self._closing.wait(poll_s):
            for node in self.nodes:
                self._look_after(node)

    def _look_after(self, node: Node) -> None:
        with node.lock:
            status = node.exited_on_its_own()
            if status is None:
                return
            now = time.monotonic()
            exited_at = self._exited_at.setdefault(node.name, now)
            if exited_at == now:
                self.exits[node.name].append(status)
            if now - exited_at >= restart_s:
                del self._exited_at[node.name]
                node.launch()
