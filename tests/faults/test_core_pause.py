"""SIGSTOP of the core under load through two fronts, then SIGCONT.

A hung core keeps its sockets, its NATS subscriptions and its database lease
while it does nothing. What must hold (issue 16): nothing lost or applied twice,
no success a client saw undone, and requests succeed again once it continues.
(With a hot standby, the standby must take over while the core hangs: see
``test_standby.py``.)
"""

from __future__ import annotations

import pytest

from tests.faults.conftest import run_scenario
from tests.faults.rig import Rig, Services
from tests.faults.scenario import Fault, Report, checks

pytestmark = pytest.mark.slow


def _pause(rig: Rig) -> None:
    rig.cluster.core.pause()


def _continue(rig: Rig) -> None:
    rig.cluster.core.resume()


FAULT = Fault("core-pause", _pause, _continue)


@pytest.fixture(scope="module")
def report(fault_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return run_scenario(fault_services, tmp_path_factory, FAULT)


@pytest.mark.parametrize(
    "check",
    checks(),
)
def test_after_the_core_is_paused_and_continued(report: Report, check: str) -> None:
    report.check(check)
