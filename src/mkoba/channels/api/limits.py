"""A bound on the native API's request bodies, so no single request can fill memory.

FastAPI reads a JSON body whole before validating it. This middleware reads at
most ``body_bytes_max`` of a body under ``/api/`` (whatever Content-Length says;
chunked bodies say nothing) and answers 413 in the envelope past it. The Daraja
and USSD channels bound their own bodies, in their own formats.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The native API's bodies are a few hundred bytes.
body_bytes_max = 64 * 1024
_PREFIX = "/api/"


class BodyLimit:
    """ASGI middleware: refuse a native-API body larger than ``body_bytes_max``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(_PREFIX):
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
                await _too_large(send)
                return
            if not message.get("more_body", False):
                break
        queued = iter(messages)

        async def replay() -> Message:
            # The buffered body first, then whatever the client sends next (a disconnect).
            return next(queued, None) or await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send) -> None:
    body = json.dumps(
        {
            "ok": False,
            "code": "invalid_input",
            "message": f"the body is larger than {body_bytes_max // 1024} KiB",
            "receipt": None,
            "request_id": "",
            "data": {},
        }
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
