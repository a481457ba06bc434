"""The fraud and AML rules joined to the channels that feed them (for ``app.py``).

The rules (``mkoba.risk``) import no channel: the SIM-toolkit cards' swaps, the app's
device bindings and its way to reach a bound device are handed to them here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mkoba.risk.start import start_engine, swap_feed, swap_provider

if TYPE_CHECKING:
    from mkoba.channels.app import AppChannel
    from mkoba.channels.sim.channel import SimChannel
    from mkoba.processor.services import Services
    from mkoba.risk.alerts import Alerts
    from mkoba.risk.engine import RiskEngine
    from mkoba.settings import Settings


async def start_risk(
    settings: Settings,
    services: Services,
    alerts: Alerts | None,
    sim: SimChannel | None,
    app: AppChannel,
) -> RiskEngine:
    """The risk engine started on ``services``, with its signals from the channels."""
    alert = alerts.raise_alert if alerts is not None else None
    swaps = swap_provider(settings, await sim.cards.swaps() if sim is not None else [])
    if sim is not None:  # the cards' swaps as they are made
        sim.cards.on_swap = swap_feed(swaps, app.end_bindings)
    engine = await start_engine(services, swaps, alert, settings.screening_list)
    engine.newest_device = app.newest_binding
    engine.device_code = app.send_code
    return engine
