"""New registrations are screened against the sanctions and PEP list; matches go to
compliance, and the registration itself is never held up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mkoba.risk.alerts import Alerts
from tests.processor.world import running, settings_for
from tests.world import World

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(store_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with running(settings_for(store_url, tmp_path)) as platform:
        yield await World(platform).setup()


async def screened(world: World, alerts: Alerts, party_id: int) -> list[object]:
    """The SCREEN alerts on a party, once the screenings under way are done."""
    risk = world.platform.services.risk
    assert risk is not None
    await risk.drain()  # screened in the background, after the registration
    return [a for a in await alerts.list(rule="SCREEN") if a.party_id == party_id]


async def test_a_listed_name_is_an_alert_and_an_ordinary_one_is_not(world: World) -> None:
    alerts = world.platform.alerts
    assert alerts is not None
    listed = await world.customer(name="Jerome Ssemanda")  # on the shipped sample list
    ordinary = await world.customer(name="Amina Wanjiru")
    assert listed.state.value == "active"  # registered all the same: compliance decides
    (alert,) = await screened(world, alerts, listed.id)
    match = alert.details["matches"][0]
    assert match["listed_name"].lower().startswith("jerome") and float(match["score"]) >= 85
    assert alert.severity == "high" and "resembles" in alert.summary
    assert await screened(world, alerts, ordinary.id) == []
