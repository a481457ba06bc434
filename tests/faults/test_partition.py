"""A partition between the core and PostgreSQL under load, then healed.

The core reaches PostgreSQL through a TCP proxy the test controls; the fronts
and the checks reach it directly. The cut closes the core's connections and
refuses new ones (its session's advisory lease goes with them); the heal lets
it connect again. What must hold (issue 16): nothing a client was told succeeded
is lost, nothing applied twice, and requests succeed again within seconds.
"""

from __future__ import annotations

import pytest

from tests.faults.conftest import run_scenario
from tests.faults.rig import Rig, Services
from tests.faults.scenario import Fault, Report, checks

pytestmark = pytest.mark.slow


def _cut(rig: Rig) -> None:
    assert rig.proxy is not None
    rig.proxy.cut()


def _heal(rig: Rig) -> None:
    assert rig.proxy is not None
    rig.proxy.restore()


FAULT = Fault("partition", _cut, _heal)


@pytest.fixture(scope="module")
def report(fault_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return run_scenario(fault_services, tmp_path_factory, FAULT, via_proxy=True)


@pytest.mark.parametrize(
    "check",
    checks(),
)
def test_after_the_core_is_cut_from_postgres_and_healed(report: Report, check: str) -> None:
    report.check(check)
