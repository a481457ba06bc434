"""SIGSTOP of the active core while a standby core runs, under load, then SIGCONT.

A hung core keeps its sockets, its bus subscriptions and its database sessions, and
stops renewing its lease. What must hold (issue 16): the standby takes the lease once
it expires and requests succeed again within 10 s of the SIGSTOP; the hung core,
continued, finds that it lost the lease and exits 75 at once, committing nothing (its
commits are fenced by the lease's token), and started again by its supervisor it
stands by; nothing lost or applied twice, no success a client saw undone.
"""

from __future__ import annotations

import pytest

from tests.faults import standby
from tests.faults.conftest import run_scenario
from tests.faults.rig import Rig, Services
from tests.faults.scenario import Fault, Report, checks

pytestmark = pytest.mark.slow


def _pause(rig: Rig) -> None:
    standby.note_lease(rig)
    rig.cluster.core.pause()


def _continue(rig: Rig) -> None:
    """Once the standby serves (or it has had its time), the hung core continues."""
    standby.wait_takeover(rig, rig.cluster.core)
    standby.continue_lost(rig, rig.cluster.core)


def _verify(rig: Rig, report: Report) -> list[str]:
    hung, spare = rig.cluster.cores
    token = rig.notes["token_before"] + 1
    problems = [
        *standby.lease_problems(rig, report.figures, spare.name, takeovers=1),
        # The supervisor saw it exit 75 (EX_TEMPFAIL: lease lost) and started it again.
        *standby.exit_problems(report.figures, {hung.name: [75]}),
        *standby.log_problems(spare, standby.TOOK_OVER.format(token=token), 1),
        *standby.log_problems(hung, standby.LOST, 1),
        *standby.log_problems(hung, standby.STOOD_BY, 1),
    ]
    status, exited_s = rig.notes.get("exit_status"), rig.notes.get("exit_after_continue_s")
    most = standby.exit_after_continue_s_max
    if status != 75 or exited_s is None or exited_s > most:
        problems.append(f"continued, it exited {status} after {exited_s}s (75 within {most}s)")
    # Told why: the token that took its lease, or that its own expired unrenewed.
    problems += [
        f"{hung.name} logged {line.strip()!r}, not the loss to token {token}"
        for line in hung.lines(f"{standby.LOST} to token")
        if f"{standby.LOST} to token {token};" not in line
    ]
    return problems


FAULT = Fault("standby-core-pause", _pause, _continue, hits="core", takeover=True, verify=_verify)


@pytest.fixture(scope="module")
def report(fault_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return run_scenario(fault_services, tmp_path_factory, FAULT, standby=True)


@pytest.mark.parametrize("check", [*checks(), "standby"])
def test_after_the_active_core_hangs_the_standby_serves(report: Report, check: str) -> None:
    report.check(check)
