"""The Daraja channel: Safaricom's Daraja API, field for field, on mkoba's ledger.

An extension of the platform (``mkoba.app.EXTENSIONS``): ``mount`` adds the
routes at Daraja's own paths (and the handset's STK routes), ``start`` opens
the channel (tables, registry, callback gateway, C2B hooks, sandbox demo
data) and settles what a stop left open, ``stop`` closes it. A channel
adapter only: Daraja requests become TranProc requests, TranProc's responses
become Daraja's answers and callbacks. See docs/daraja.md.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mkoba.app import Platform

__all__ = ["mount", "start", "stop"]

log = logging.getLogger("mkoba.daraja")


def mount(app: Any, platform: Platform) -> None:
    """Add the Daraja routes and the handset's STK routes to the platform's app."""
    from mkoba.channels.daraja.routes import mount as mount_routes

    mount_routes(app, platform)


async def start(platform: Platform) -> None:
    """Open the channel, install its C2B hooks, load the sandbox, settle open work."""
    from mkoba.channels.daraja.demo import CONSUMER_KEY, ensure_sandbox
    from mkoba.channels.daraja.hooks import DarajaHooks
    from mkoba.channels.daraja.payloads import register_renderers
    from mkoba.channels.daraja.state import EXTRA, Daraja

    register_renderers()
    daraja = Daraja(platform)
    await daraja.open()
    platform.extras[EXTRA] = daraja
    platform.services.hooks = DarajaHooks(daraja)
    if platform.settings.demo and await ensure_sandbox(daraja):
        log.info("Daraja sandbox ready: consumer key %s (see docs/daraja.md)", CONSUMER_KEY)
    await daraja.recover()


async def stop(platform: Platform) -> None:
    """Stop sending, then timers and background work, then the HTTP clients.

    The outbox sender stops first (it is stopped again, harmlessly, by the
    platform): callbacks still queued go out at the next start instead of being
    handed to a closing gateway. The hooks stay installed for requests still in
    flight; without their client, validation falls back to the default action.
    """
    from mkoba.channels.daraja.hooks import DarajaHooks
    from mkoba.channels.daraja.state import EXTRA, Daraja

    daraja = platform.extras.pop(EXTRA, None)
    await platform.outbox.stop()
    if isinstance(daraja, Daraja):
        await daraja.close()
    hooks = platform.services.hooks
    if isinstance(hooks, DarajaHooks):
        await hooks.close()
