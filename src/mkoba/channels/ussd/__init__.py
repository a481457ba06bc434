"""The USSD channel: gateway adapters, a menu engine, and menus as versioned data.

An extension of the platform (``mkoba.app.EXTENSIONS``): ``mount`` adds the
routes, ``start`` loads the menus and starts the session store, ``stop`` ends
every session. See docs/ussd.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from mkoba.channels.ussd.routes import mount

if TYPE_CHECKING:
    from mkoba.app import Platform

__all__ = ["mount", "start", "stop"]

log = logging.getLogger("mkoba.ussd")


async def start(platform: Platform) -> None:
    """Load the menus, start the session store and the engine."""
    from mkoba.channels.ussd.access import Access, Policy
    from mkoba.channels.ussd.engine import Engine
    from mkoba.channels.ussd.library import Library, refresh_interval_s
    from mkoba.channels.ussd.session import Sessions

    settings = platform.settings
    # Said at every start: an open endpoint lets anyone act for any phone.
    access = Access.from_settings(settings)
    (log.info if access.policy is Policy.CREDENTIAL else log.warning)(access.describe())
    extra = [settings.ussd_menus_dir] if settings.ussd_menus_dir is not None else []
    library = await asyncio.to_thread(Library, extra)
    offered = set(platform.processor.products)
    for role in ("customer", "agent", "agent_assistant", "merchant"):
        menu = library.current(role)
        wanted = {s.request.product for s in menu.screens.values() if s.request is not None}
        missing = sorted(wanted - offered)
        if missing:
            log.warning(
                "USSD %s menu v%d offers products not served: %s", role, menu.version, missing
            )
    sessions = Sessions(settings.ussd_idle_s, settings.ussd_session_s)
    sessions.start()
    services = platform.services
    engine = Engine(
        library,
        sessions,
        services.directory.by_msisdn,
        platform.request,
        platform.transport_key,
        lambda: services.profile(platform.clock()),
    )
    platform.extras["ussd"] = engine

    async def refresh() -> None:
        while True:
            await asyncio.sleep(refresh_interval_s)
            try:
                await asyncio.to_thread(library.refresh)
            except Exception:  # a broken directory must not stop the channel
                log.exception("USSD menu refresh failed")

    platform.extras["ussd.refresh"] = asyncio.get_running_loop().create_task(
        refresh(), name="ussd-menus"
    )


async def stop(platform: Platform) -> None:
    """End every session and stop refreshing menus."""
    from mkoba.channels.ussd.engine import Engine

    task = platform.extras.pop("ussd.refresh", None)
    if isinstance(task, asyncio.Task):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    engine = platform.extras.pop("ussd", None)
    if isinstance(engine, Engine):
        await engine.sessions.stop()
