"""The console listens apart: one server, two sockets, each connection routed by its port."""

from __future__ import annotations

from typing import Any


class Listeners:
    """One server, two listeners: the console's port gets the staff app, any other the public.

    The lifespan (which starts the platform) is the public app's.
    """

    def __init__(self, public: Any, console: Any, console_port: int) -> None:
        self.public = public
        self.console = console
        self.console_port = console_port

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Route by the port the connection came in on."""
        server = scope.get("server") if scope["type"] in ("http", "websocket") else None
        if server is not None and server[1] == self.console_port:
            await self.console(scope, receive, send)
        else:
            await self.public(scope, receive, send)
