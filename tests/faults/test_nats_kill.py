"""kill -9 of nats-server under load, then nats-server started again on its port and store.

Every process loses the bus at once; JetStream's file store keeps the queued
requests. What must hold (issue 16): nothing lost or applied twice, no success a
client saw undone, and requests succeed again within seconds of the restart.
"""

from __future__ import annotations

import pytest

from tests.faults.conftest import run_scenario
from tests.faults.rig import Rig, Services
from tests.faults.scenario import Fault, Report, checks

pytestmark = pytest.mark.slow


def _kill(rig: Rig) -> None:
    rig.services.nats.kill()


def _restart(rig: Rig) -> None:
    rig.services.nats.restart()


FAULT = Fault("nats-kill", _kill, _restart)


@pytest.fixture(scope="module")
def report(fault_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return run_scenario(fault_services, tmp_path_factory, FAULT)


@pytest.mark.parametrize(
    "check",
    checks(),
)
def test_after_nats_is_killed_and_restarted(report: Report, check: str) -> None:
    report.check(check)
