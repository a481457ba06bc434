"""kill -9 of PostgreSQL (the postmaster and every backend) under load, then a restart.

The core's writer loses its connection and its lease, the fronts their reads;
PostgreSQL recovers from its WAL on restart. What must hold (issue 16): nothing
a client was told succeeded is lost, nothing applied twice, and requests succeed
again within seconds of the restart.
"""

from __future__ import annotations

import pytest

from tests.faults.conftest import run_scenario
from tests.faults.rig import Rig, Services
from tests.faults.scenario import Fault, Report, checks

pytestmark = pytest.mark.slow


def _kill(rig: Rig) -> None:
    rig.services.pg.kill()


def _restart(rig: Rig) -> None:
    rig.services.pg.restart()


FAULT = Fault("postgres-kill", _kill, _restart)


@pytest.fixture(scope="module")
def report(fault_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return run_scenario(fault_services, tmp_path_factory, FAULT)


@pytest.mark.parametrize(
    "check",
    checks(),
)
def test_after_postgres_is_killed_and_restarted(report: Report, check: str) -> None:
    report.check(check)
