"""kill -9 of the core under load through two fronts, then the core started again.

What must hold (issue 16): no acknowledged write lost, nothing applied twice, no
success a client saw undone; requests succeed again within seconds of the
restart (a crash costs a few seconds of backlog, not a minute).
"""

from __future__ import annotations

import pytest

from tests.faults.conftest import run_scenario
from tests.faults.rig import Rig, Services
from tests.faults.scenario import Fault, Report, checks

pytestmark = pytest.mark.slow


def _kill(rig: Rig) -> None:
    rig.cluster.core.kill()


def _restart(rig: Rig) -> None:
    rig.cluster.core.restart()


FAULT = Fault("core-kill", _kill, _restart)


@pytest.fixture(scope="module")
def report(fault_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return run_scenario(fault_services, tmp_path_factory, FAULT)


@pytest.mark.parametrize(
    "check",
    checks(),
)
def test_after_the_core_is_killed_and_restarted(report: Report, check: str) -> None:
    report.check(check)
