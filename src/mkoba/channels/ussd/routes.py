"""The USSD channel's HTTP surface: gateway callbacks and menu downloads.

``POST /ussd/{gateway}`` takes a hop in the gateway's format (``at``: Africa's
Talking) and answers with the screen; ``POST /ussd/{gateway}/events`` takes the
end-of-session notice. The response rule lives here: when a screen shows the
outcome of a money-moving request, the HTTP answer *is* its delivery, so the
request is acknowledged after the answer has been sent; if the gateway has gone
(connection dropped) or waited longer than it does (``MKOBA_USSD_RESPONSE_S``),
the request is rolled back at once instead, and the processor's deadline
covers every other way an answer can get lost.

Both callbacks first check who is calling (``access.py``): without the
gateway's credential (or a simulated handset's, for its own number) the answer
is 401 and nothing else happens.

``GET /ussd/menus`` lists the menus that serve; ``GET /ussd/menus/{role}`` gives
one (``?version=``), with an ETag, for the SIM-toolkit and app channels.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.requests import Request as HttpRequest
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from mkoba.channels.ussd.access import REFUSED, Access
from mkoba.channels.ussd.africastalking import AfricasTalking, body_bytes_max
from mkoba.channels.ussd.definition import ROLES
from mkoba.channels.ussd.engine import Engine, Hop
from mkoba.channels.ussd.gateway import BadRequest, Codec, Screen
from mkoba.codes import Code
from mkoba.messages import render
from mkoba.ports import Unavailable

if TYPE_CHECKING:
    from mkoba.channels.ussd.channel import UssdChannel

log = logging.getLogger("mkoba.ussd")

CODECS: dict[str, Codec] = {codec.name: codec for codec in (AfricasTalking(),)}


def mount(app: FastAPI, channel: UssdChannel) -> None:
    """Add the USSD routes to ``app`` (the engine is made when the channel starts)."""

    def engine() -> Engine | None:
        return channel.engine

    hop = _HopEndpoint(channel, engine, channel.access)
    events = _HopEndpoint(channel, engine, channel.access, events=True)
    app.router.routes.append(Route("/ussd/{gateway}", hop, methods=["POST"], name="ussd_hop"))
    app.router.routes.append(
        Route("/ussd/{gateway}/events", events, methods=["POST"], name="ussd_events")
    )

    @app.get("/ussd/menus", summary="The USSD menus that serve, per role", tags=["ussd"])
    async def menus() -> JSONResponse:
        running = engine()
        if running is None:
            return JSONResponse({"detail": "starting"}, status_code=503)
        listing: dict[str, Any] = {}
        for role in ROLES:
            menu = running.library.current(role)
            listing[role] = {
                "version": menu.version,
                "versions": running.library.versions(role),
                "etag": menu.etag,
                "url": f"/ussd/menus/{role}?version={menu.version}",
            }
        return JSONResponse({"menus": listing})

    @app.get("/ussd/menus/{role}", summary="One role's USSD menu definition", tags=["ussd"])
    async def menu(role: str, request: HttpRequest, version: int | None = None) -> Response:
        running = engine()
        if running is None:
            return JSONResponse({"detail": "starting"}, status_code=503)
        if role not in ROLES:
            return JSONResponse({"detail": f"no role {role!r}: {', '.join(ROLES)}"}, 404)
        found = (
            running.library.current(role) if version is None else running.library.get(role, version)
        )
        if found is None:
            known = running.library.versions(role)
            return JSONResponse({"detail": f"{role} has versions {known}"}, status_code=404)
        headers = {"ETag": found.etag, "Cache-Control": "public, max-age=60"}
        if found.etag in _etags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=headers)
        return Response(found.document, media_type="application/json", headers=headers)


class _HopEndpoint:
    """The gateway callbacks as plain ASGI: a hop is the hottest path of the channel.

    (FastAPI's request machinery costs more than the menu engine itself; these
    two routes need none of it.)
    """

    def __init__(
        self,
        channel: UssdChannel,
        engine: Callable[[], Engine | None],
        access: Access,
        events: bool = False,
    ) -> None:
        self.acknowledge = channel.ports.acknowledge
        self.response_s = channel.settings.ussd_response_s
        self.engine = engine
        self.access = access
        self.events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.events:
            await self.ending(scope, receive, send)
            return
        started = time.monotonic()
        handset = self._caller(scope)
        if handset is None:
            await self._refuse(send)
            return
        codec = CODECS.get(scope["path_params"]["gateway"])
        running = self.engine()
        if codec is None or running is None:
            await _reply(send, *_unavailable(codec is None, scope))
            return
        try:
            event = codec.event(await _body(receive), _content_type(scope))
        except BadRequest as problem:
            await _reply(send, 400, str(problem).encode(), _TEXT)
            return
        if handset and running.phone(event.msisdn) != handset:
            await self._refuse(send)  # a handset dials for its own number only
            return
        try:
            result = await running.hop(event)
        except Exception:
            log.exception("USSD hop failed (gateway %s)", codec.name)
            result = Hop(Screen.end(render(f"ussd.code.{Code.SYSTEM_ERROR}", "en", {})))
        request_id = result.request_id
        if request_id is not None:
            late = time.monotonic() - started > self.response_s
            if late or await _disconnected(receive):
                # The gateway is not there to show the outcome: undo it now (a request
                # that moved no money has nothing to undo, and keeps its screen).
                if await self.acknowledge(request_id, False):
                    text = render(f"ussd.code.{Code.ROLLED_BACK}", result.language, {})
                    result = Hop(Screen.end(text))
                await _reply(send, 200, codec.answer(result.screen), codec.media_type)
                return
            # The gateway is waiting: post the money before the screen says it moved, so
            # a success the user has read is never rolled back (docs/architecture.md).
            try:
                posted = await self.acknowledge(request_id)
            except Unavailable:  # not known yet (a core lost meanwhile): the SMS will say
                posted, code = False, Code.SYSTEM_BUSY
            else:
                code = Code.ROLLED_BACK
            if not posted:
                text = render(f"ussd.code.{code}", result.language, {})
                result = Hop(Screen.end(text))
        await _reply(send, 200, codec.answer(result.screen), codec.media_type)

    async def ending(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The gateway's end-of-session notice: drop the phone's session, answer 200."""
        handset = self._caller(scope)
        if handset is None:
            await self._refuse(send)
            return
        codec = CODECS.get(scope["path_params"]["gateway"])
        running = self.engine()
        if codec is None or running is None:
            await _reply(send, *_unavailable(codec is None, scope))
            return
        try:
            ending = codec.ending(await _body(receive), _content_type(scope))
        except BadRequest as problem:
            await _reply(send, 400, str(problem).encode(), _TEXT)
            return
        if handset and running.phone(ending.msisdn) != handset:
            await self._refuse(send)
            return
        running.end(ending)
        await _reply(send, 200, b"OK", _TEXT)

    def _caller(self, scope: Scope) -> str | None:
        """Who calls: "" the gateway, a number a simulated handset, None anyone else."""
        headers = scope["headers"]
        if self.access.gateway(headers):
            return ""
        return self.access.handset(headers)

    async def _refuse(self, send: Send) -> None:
        challenge = (b"www-authenticate", self.access.realm.encode())
        await _reply(send, 401, REFUSED, _TEXT, [challenge])


_TEXT = "text/plain; charset=utf-8"


def _unavailable(unknown: bool, scope: Scope) -> tuple[int, bytes, str]:
    if unknown:
        return 404, f"no USSD gateway {scope['path_params']['gateway']!r}".encode(), _TEXT
    return 503, b"starting", _TEXT


def _content_type(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value).decode("latin-1")
    return ""


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise BadRequest("the gateway went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > body_bytes_max:
            raise BadRequest("the request is too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _disconnected(receive: Receive) -> bool:
    """Whether the client has gone (without waiting: as Starlette's is_disconnected)."""
    message: Message = {}
    with anyio.CancelScope() as scope:
        scope.cancel()
        message = await receive()
    return message.get("type") == "http.disconnect"


async def _reply(
    send: Send,
    status: int,
    body: bytes,
    media_type: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _etags(header: str) -> set[str]:
    return {part.strip().removeprefix("W/") for part in header.split(",") if part.strip()}
