"""A route that raises is answered in the channel's format, and the connection stays usable.

Starlette's own handler for ``Exception`` answers, then raises the exception on to
the server, which logs it a second time and closes the keep-alive connection
without a word: the client's next request on it fails with "Server disconnected".
This middleware, inside Starlette's, answers with the channel's body for a crash
(the native API: ``SYSTEM_ERROR``, no money moved, as a request that raised
committed nothing of its own), logs the traceback once (no local variables:
``logs.py``) and ends there.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("mkoba.edge")


class Crashes:
    """ASGI middleware: the one place an unhandled exception of a route is answered."""

    def __init__(self, app: ASGIApp, body: bytes) -> None:
        self.app = app
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            log.exception("unhandled error on %s", scope.get("path", "?"))
            if started:
                raise  # half an answer is out: only closing the connection says so
            await _answer(send, self.body)


async def _answer(send: Send, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
