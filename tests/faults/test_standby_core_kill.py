"""kill -9 of the active core while a standby core runs, under load through two fronts.

What must hold (issue 16): the standby takes the ledger's lease once it expires and
requests succeed again within 10 s of the kill; the killed core, started again,
stands by behind the new active core; nothing lost or applied twice, no success a
client saw undone.
"""

from __future__ import annotations

import pytest

from tests.faults import standby
from tests.faults.conftest import run_scenario
from tests.faults.rig import Rig, Services
from tests.faults.scenario import Fault, Report, checks

pytestmark = pytest.mark.slow


def _kill(rig: Rig) -> None:
    standby.note_lease(rig)
    rig.cluster.core.kill()


def _restart(rig: Rig) -> None:
    """Once the standby serves (or it has had its time), the killed core starts again."""
    standby.wait_takeover(rig, rig.cluster.core)
    rig.cluster.core.restart()


def _verify(rig: Rig, report: Report) -> list[str]:
    killed, spare = rig.cluster.cores
    token = rig.notes["token_before"] + 1
    return [
        *standby.lease_problems(rig, report.figures, spare.name, takeovers=1),
        *standby.exit_problems(report.figures, {}),
        *standby.log_problems(spare, standby.TOOK_OVER.format(token=token), 1),
        # Its first start took the lease; its second stood by.
        *standby.log_problems(killed, standby.STOOD_BY, 1),
    ]


FAULT = Fault("standby-core-kill", _kill, _restart, hits="core", takeover=True, verify=_verify)


@pytest.fixture(scope="module")
def report(fault_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return run_scenario(fault_services, tmp_path_factory, FAULT, standby=True)


@pytest.mark.parametrize("check", [*checks(), "standby"])
def test_after_the_active_core_is_killed_the_standby_serves(report: Report, check: str) -> None:
    report.check(check)
