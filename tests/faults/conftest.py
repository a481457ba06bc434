"""The fault suite's private servers, made once per run, and one scenario run per module.

``MKOBA_FAULTS_RESUME_WAIT_S`` (default 15) is how long a scenario waits for the
first success after its heal; raise it to measure how long a slow resume really
takes (the check still holds resumes to ``scenario.resume_after_heal_s_max``).
Every scenario's times to resume and problems are summed up at the end of the run,
and written in full to ``faults.json`` in its temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults import services as servers
from tests.faults.rig import Services, make_rig, make_template
from tests.faults.scenario import Fault, Report, run

wait_resume_s = float(os.environ.get("MKOBA_FAULTS_RESUME_WAIT_S", "15"))
# The scenarios run so far, for the summary at the end.
REPORTS: list[tuple[Report, Path]] = []


@pytest.fixture(scope="session")
def fault_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """A private PostgreSQL cluster and nats-server, and the demo ledger's template."""
    problem = servers.missing()
    if problem is not None:
        # CI requires PostgreSQL and NATS: there, a machine that cannot run them fails.
        required = {"MKOBA_REQUIRE_POSTGRES", "MKOBA_REQUIRE_NATS"}
        if any(os.environ.get(flag) == "1" for flag in required):
            pytest.fail(problem)
        pytest.skip(problem)
    folder = tmp_path_factory.mktemp("fault-services")
    pg = servers.PrivatePostgres(folder, servers.free_port())
    nats = servers.PrivateNats(folder, servers.free_port())
    try:
        pg.start()
        nats.start()
        yield make_template(pg, nats, folder / "template")
    finally:
        nats.stop()
        pg.remove()


def run_scenario(
    services: Services,
    factory: pytest.TempPathFactory,
    fault: Fault,
    via_proxy: bool = False,
    standby: bool = False,
) -> Report:
    """One scenario on a fresh cluster (with a standby core if asked); the servers stay up."""
    services.ensure_running()
    folder = factory.mktemp(fault.name)
    rig = make_rig(services, folder, fault.name.replace("-", "_"), via_proxy, standby)
    try:
        report = run(rig, fault, wait_resume_s)
        REPORTS.append((report, folder / "faults.json"))
        return report
    finally:
        rig.close()
        services.ensure_running()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Each scenario's time to resume and what its checks found, after the run."""
    if not REPORTS:
        return
    terminalreporter.section("fault scenarios: time to resume (s) and problems")
    for report, path in REPORTS:
        figures = report.figures
        failing = [f"{name} ({len(found)})" for name, found in report.problems.items() if found]
        notes = figures.get("notes", {})
        takeover = f" (the standby served {notes['takeover_s']})" if "takeover_s" in notes else ""
        terminalreporter.write_line(
            f"{report.scenario}: resume {figures['resume_s']} after the fault{takeover},"
            f" {figures['resume_after_heal_s']} after the heal;"
            f" failing: {', '.join(failing) or 'none'}; {path}"
        )
