"""A third front added under load: it serves at once, and nobody sees an error for it.

What must hold (issue 16): a front can be added under load with no error beyond the
requests it held (it holds none). The new front joins the fronts' membership, takes
native clients' requests as soon as it says it is ready, and the other fronts go on.
"""

from __future__ import annotations

import pytest

from tests.faults.answers import Outcome, expected
from tests.faults.cluster import Node, start_timeout_s
from tests.faults.conftest import run_scenario
from tests.faults.load import NativeSender
from tests.faults.rig import Rig, Services
from tests.faults.scenario import Fault, Report, checks

pytestmark = pytest.mark.slow

ADDED = "front3"


def _add(rig: Rig) -> None:
    """Start a third front; once it serves, the native clients spread over it too."""
    model = rig.cluster.fronts[0]
    node = Node(ADDED, "front", model.folder, dict(model.settings))
    rig.cluster.fronts.append(node)
    node.start()
    node.wait_serving(start_timeout_s)
    assert rig.load is not None
    natives = [c for c in rig.load.clients if isinstance(c, NativeSender)]
    # The native clients share one list of fronts: each takes the new one in its turn.
    fronts = natives[0].fronts
    assert isinstance(fronts, list) and all(c.fronts is fronts for c in natives)
    fronts.append((node.name, node.url))


def _nothing(rig: Rig) -> None:
    pass


FAULT = Fault("front-added", _add, _nothing, stops_money=False, hold_s=4.0)


@pytest.fixture(scope="module")
def report(fault_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return run_scenario(fault_services, tmp_path_factory, FAULT)


@pytest.mark.parametrize(
    "check",
    checks(),
)
def test_after_a_front_is_added(report: Report, check: str) -> None:
    report.check(check)


def test_no_request_fails_for_the_added_front(report: Report) -> None:
    """Every answer, on every front, is a success or a refusal the load itself causes."""
    problems = [
        f"{a.front}: {a.stream} {a.key} {a.outcome} {a.code}"
        for a in report.seen
        if not expected(a)
    ]
    assert not problems, f"{len(problems)} unexpected answers: {problems[:10]}"


def test_the_added_front_served_money(report: Report) -> None:
    served = [a for a in report.seen if a.front == ADDED and a.outcome is Outcome.SUCCESS]
    assert len(served) >= 10, f"{len(served)} successes through {ADDED}"
