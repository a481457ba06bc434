"""kill -9 of a front under load, then the front started again on its port.

What must hold (issue 16): a front can be killed or added under load with no
error beyond the requests it held; its clients go on through the other front.
"""

from __future__ import annotations

import pytest

from tests.faults.answers import Outcome, expected
from tests.faults.conftest import run_scenario
from tests.faults.rig import Rig, Services
from tests.faults.scenario import Fault, Report, checks

pytestmark = pytest.mark.slow


KILLED = "front1"


def _kill(rig: Rig) -> None:
    rig.cluster.fronts[0].kill()


def _restart(rig: Rig) -> None:
    rig.cluster.fronts[0].restart()


FAULT = Fault("front-kill", _kill, _restart, stops_money=False, hits=KILLED)


@pytest.fixture(scope="module")
def report(fault_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return run_scenario(fault_services, tmp_path_factory, FAULT)


@pytest.mark.parametrize(
    "check",
    checks(),
)
def test_after_a_front_is_killed_and_restarted(report: Report, check: str) -> None:
    report.check(check)


def test_only_the_requests_the_killed_front_held_fail(report: Report) -> None:
    """The other front answered everything; the killed one failed only while it was down."""
    problems = []
    for answer in report.seen:
        if expected(answer):
            continue
        down = report.fault_at <= answer.answered <= report.healed_at
        if answer.front != KILLED or not (down and answer.outcome is Outcome.UNREACHABLE):
            problems.append(
                f"{answer.front}: {answer.stream} {answer.key} {answer.outcome} {answer.code}"
            )
    assert not problems, f"{len(problems)} unexpected answers: {problems[:10]}"
