"""A bound on request bodies, so no single request can fill memory.

FastAPI reads a JSON body whole before validating it. This middleware reads at
most ``body_bytes_max`` of a body under a prefix (whatever Content-Length says;
chunked bodies say nothing) and answers 413, in the channel's format, past it. The
native API bounds ``/api/``, the console ``/staff/``; Daraja and USSD read their own
bodies with bounds of their own.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The bodies these APIs take are a few hundred bytes.
body_bytes_max = 64 * 1024


class BodyLimit:
    """ASGI middleware: refuse a body under ``prefix`` larger than ``body_bytes_max``."""

    def __init__(self, app: ASGIApp, prefix: str, too_large: bytes) -> None:
        self.app = app
        self.prefix = prefix
        self.too_large = too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > body_bytes_max:
                await _too_large(send, self.too_large)
                return
            if not message.get("more_body", False):
                break
        queued = iter(messages)

        async def replay() -> Message:
            # The buffered body first, then whatever the client sends next (a disconnect).
            return next(queued, None) or await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
