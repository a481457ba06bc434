"""The USSD channel as the composition root drives it: menus, sessions, engine, routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from mkoba.channels.ussd.access import Access, Policy
from mkoba.channels.ussd.engine import Engine
from mkoba.channels.ussd.library import Library, refresh_interval_s
from mkoba.channels.ussd.session import Sessions
from mkoba.ports import Ports
from mkoba.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("mkoba.ussd")


class UssdChannel:
    """Everything the USSD channel runs; the engine exists once started."""

    def __init__(
        self, ports: Ports, settings: Settings, offered: Callable[[], Collection[str]]
    ) -> None:
        self.ports = ports
        self.settings = settings
        # The products TranProc serves: a menu offering another is logged at start.
        self.offered = offered
        self.access = Access.from_settings(settings)
        self.engine: Engine | None = None
        self._refresh: asyncio.Task[None] | None = None

    def menu_document(self, role: str) -> str | None:
        """The current menu of ``role`` as its download serves it (the SIM toolkit's
        menus over the air are the same data); None before start or for no such role."""
        if self.engine is None:
            return None
        try:
            return self.engine.library.current(role).document
        except KeyError:
            return None

    def mount(self, app: FastAPI) -> None:
        """Add the gateway callbacks and the menu downloads."""
        from mkoba.channels.ussd.routes import mount

        mount(app, self)

    async def start(self) -> None:
        """Load the menus, start the session store and the engine."""
        settings = self.settings
        # Said at every start: an open endpoint lets anyone act for any phone.
        (log.info if self.access.policy is Policy.CREDENTIAL else log.warning)(
            self.access.describe()
        )
        extra = [settings.ussd_menus_dir] if settings.ussd_menus_dir is not None else []
        library = await asyncio.to_thread(Library, extra)
        offered = set(self.offered())
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
        ports = self.ports
        self.engine = Engine(
            library, sessions, ports.party, ports.request, ports.transport_key, ports.profile
        )
        self._refresh = asyncio.get_running_loop().create_task(
            self._refresh_menus(library), name="ussd-menus"
        )

    async def _refresh_menus(self, library: Library) -> None:
        while True:
            await asyncio.sleep(refresh_interval_s)
            try:
                await asyncio.to_thread(library.refresh)
            except Exception:  # a broken directory must not stop the channel
                log.exception("USSD menu refresh failed")

    async def stop(self) -> None:
        """End every session and stop refreshing menus."""
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh
            self._refresh = None
        engine, self.engine = self.engine, None
        if engine is not None:
            await engine.sessions.stop()
