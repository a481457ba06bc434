"""SIGSTOP of a front under load, then SIGCONT.

A hung front keeps its clients' connections open and answers nothing; its
requests and STK prompts wait in it. What must hold (issue 16): nothing lost or
applied twice, no success a client saw undone, money keeps moving through the
other front, and the paused front's requests finish once it continues.
"""

from __future__ import annotations

import pytest

from tests.faults.conftest import run_scenario
from tests.faults.rig import Rig, Services
from tests.faults.scenario import Fault, Report, checks

pytestmark = pytest.mark.slow


def _pause(rig: Rig) -> None:
    rig.cluster.fronts[0].pause()


def _continue(rig: Rig) -> None:
    rig.cluster.fronts[0].resume()


FAULT = Fault("front-pause", _pause, _continue, stops_money=False, hits="front1")


@pytest.fixture(scope="module")
def report(fault_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return run_scenario(fault_services, tmp_path_factory, FAULT)


@pytest.mark.parametrize(
    "check",
    checks(),
)
def test_after_a_front_is_paused_and_continued(report: Report, check: str) -> None:
    report.check(check)
