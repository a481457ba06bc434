"""The fault suite's private servers, made once per run, and one scenario run per module.

``MKOBA_FAULTS_RESUME_WAIT_S`` (default 15) is how long a scenario waits for the
first success after its heal; raise it to measure how long a slow resume really
takes (the check still holds resumes to ``scenario.resume_after_heal_s_max``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.conftest import _skip_or_fail
from tests.faults import services as servers
from tests.faults.rig import Services, make_rig, make_template
from tests.faults.scenario import Fault, Report, run

wait_resume_s = float(os.environ.get("MKOBA_FAULTS_RESUME_WAIT_S", "15"))


@pytest.fixture(scope="session")
def fault_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """A private PostgreSQL cluster and nats-server, and the demo ledger's template."""
    _skip_or_fail(servers.missing(), "MKOBA_REQUIRE_POSTGRES")
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
    services: Services, factory: pytest.TempPathFactory, fault: Fault, via_proxy: bool = False
) -> Report:
    """One scenario on a fresh cluster; the private servers are left running afterwards."""
    services.ensure_running()
    folder = factory.mktemp(fault.name)
    rig = make_rig(services, folder, fault.name.replace("-", "_"), via_proxy)
    try:
        return run(rig, fault, wait_resume_s)
    finally:
        rig.close()
        services.ensure_running()
