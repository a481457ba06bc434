"""The Daraja channel: Safaricom's Daraja API, field for field, on mkoba's ledger.

An extension of the platform (``mkoba.app.EXTENSIONS``): ``mount`` adds the
routes at Daraja's own paths (and the handset's STK routes), ``start`` opens
the channel (tables, registry, callback gateway, C2B hooks, sandbox demo
data) and settles what a stop left open, ``stop`` closes it. A channel
adapter only: Daraja requests become TranProc requests, TranProc's responses
become Daraja's answers and callbacks. See docs/daraja.md.

Split in two processes (``--role``): the front serves the routes and owns the
prompts and conversations; the core sends the callbacks, runs the C2B hooks
and commits the rows the front sends it, those of the channel's own tables only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mkoba.app import Platform
    from mkoba.bus.rows import Admission

__all__ = ["mount", "start", "stop"]

log = logging.getLogger("mkoba.daraja")


def mount(app: Any, platform: Platform) -> None:
    """Add the Daraja routes and the handset's STK routes to the platform's app."""
    from mkoba.channels.daraja.routes import mount as mount_routes

    if platform.settings.role != "core":
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
    role = platform.settings.role
    if role != "front":
        platform.services.hooks = DarajaHooks(daraja)
        if platform.settings.demo and await ensure_sandbox(daraja):
            log.info("Daraja sandbox ready: consumer key %s (see docs/daraja.md)", CONSUMER_KEY)
    if role == "core":
        # The front owns prompts and conversations: it settles them when it starts.
        platform.admission.update(front_rows())
        return
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
    if not platform.front:
        await platform.outbox.stop()
    if isinstance(daraja, Daraja):
        await daraja.close()
    hooks = platform.services.hooks
    if isinstance(hooks, DarajaHooks):
        await hooks.close()


def front_rows() -> Admission:
    """The rows a Daraja front may have the core commit: its own tables, its callbacks."""
    from mkoba.channels.daraja.callbacks import outbox_id_base
    from mkoba.ledger import Write

    def anything(_write: Write) -> bool:
        return True

    def callback(write: Write) -> bool:
        row = dict(zip(write.columns, write.values, strict=True))
        number = row.get("id")
        return (
            write.mode == "insert"
            and row.get("channel") == "callback"
            and row.get("state") == "queued"
            and isinstance(number, int)
            and number >= outbox_id_base
        )

    admission: Admission = {"outbox": callback}
    for table in ("daraja_prompts", "daraja_tokens", "daraja_urls", "daraja_pull"):
        admission[table] = anything
    admission["daraja_conversations"] = anything
    return admission
