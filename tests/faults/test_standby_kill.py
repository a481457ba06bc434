"""kill -9 of the standby core under load through two fronts, then the standby started again.

A standby holds nothing the service needs (no lease, no bus consumer). What must hold
(issue 16): no client sees the fault at all (every answer as without it, requests
sent after it answered as promptly); the active core keeps the lease and its
readiness; the standby, started again, stands by again.
"""

from __future__ import annotations

import pytest

from tests.faults import standby
from tests.faults.conftest import run_scenario
from tests.faults.rig import Rig, Services
from tests.faults.scenario import Fault, Report, checks

pytestmark = pytest.mark.slow

STANDBY = "core-b"


def _kill(rig: Rig) -> None:
    standby.note_lease(rig)
    rig.cluster.cores[1].kill()


def _restart(rig: Rig) -> None:
    rig.cluster.cores[1].restart()


def _verify(rig: Rig, report: Report) -> list[str]:
    active, spare = rig.cluster.cores
    return [
        *standby.lease_problems(rig, report.figures, active.name, takeovers=0),
        *standby.exit_problems(report.figures, {}),
        # Once per start.
        *standby.log_problems(spare, standby.STOOD_BY, 2),
        *standby.undisturbed(report.seen, report.figures),
    ]


FAULT = Fault("standby-kill", _kill, _restart, stops_money=False, hits=STANDBY, verify=_verify)


@pytest.fixture(scope="module")
def report(fault_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return run_scenario(fault_services, tmp_path_factory, FAULT, standby=True)


@pytest.mark.parametrize("check", [*checks(), "standby"])
def test_after_the_standby_is_killed_and_restarted(report: Report, check: str) -> None:
    report.check(check)
