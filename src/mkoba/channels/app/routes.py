"""The app's HTTP routes (``docs/app-protocol.md``): enrolment, then signed requests only.

Every route but the two enrolment steps is signed by the device key: the
validation server checks the signature and the counter before anything else is
read, so a route always knows which phone is calling and acts for it alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from starlette.requests import Request as HttpRequest
from starlette.responses import Response as HttpResponse
from starlette.staticfiles import StaticFiles

from mkoba.channels.app import answers, bodies, charging, payments, render, social
from mkoba.channels.app.keqr import Payee, PayeeKind
from mkoba.channels.app.notices import END
from mkoba.channels.app.validation import AppRefused, Device
from mkoba.ports import Unavailable

if TYPE_CHECKING:
    from fastapi import FastAPI

    from mkoba.channels.app.channel import AppChannel

PREFIX = "/app/api/v1"
WEB = Path(__file__).parent / "web"
# The signing headers are short: anything longer is refused before it is read.
header_chars_max = 200
# A keep-alive comment on a quiet notices stream, so proxies keep it open.
keep_alive_s = 15.0
# What a person-to-person code names as the payee's category (ISO 18245: money transfer).
person_category = "4829"


class Call(NamedTuple):
    """A signed request: the device that signed it, its body, and the HTTP request."""

    device: Device
    raw: bytes
    http: HttpRequest

    @property
    def request_id(self) -> str:
        """TranProc's id for what this call asks: unique, as the counter is."""
        return f"app:{self.device.id}:{self.device.counter}"


Handler = Callable[["AppChannel", Call], Awaitable[HttpResponse]]


def mount(app: FastAPI, channel: AppChannel) -> None:
    """Add the app's routes and its web files at ``/app``."""

    @app.post(PREFIX + "/enrol", tags=["app"], summary="Send a code to bind this device")
    async def enrol(http: HttpRequest) -> HttpResponse:
        try:
            body = bodies.read(bodies.EnrolBody, await http.body())
            enrolment, expires_in = await channel.validator.enrol(body.msisdn)
        except bodies.BadBody as bad:
            return answers.refused("invalid_input", str(bad))
        except AppRefused as no:
            return answers.of(no)
        except Unavailable:
            return answers.busy()
        return JSONResponse(
            {"enrolment": enrolment, "expires_in": expires_in, "digits": 6}, status_code=202
        )

    @app.post(PREFIX + "/enrol/confirm", tags=["app"], summary="Bind this device")
    async def confirm(http: HttpRequest) -> HttpResponse:
        try:
            body = bodies.read(bodies.ConfirmBody, await http.body())
            return await channel.confirm(body, http.is_disconnected)
        except bodies.BadBody as bad:
            return answers.refused("invalid_input", str(bad))
        except AppRefused as no:
            return answers.of(no)
        except Unavailable:
            return answers.busy()

    for method, path, handler in SIGNED:
        _signed(app, channel, method, path, handler)

    @app.get("/app", include_in_schema=False)
    async def app_root() -> HttpResponse:
        return RedirectResponse("/app/", status_code=308)

    if WEB.is_dir():
        app.mount("/app", StaticFiles(directory=WEB, html=True), name="app")


def _signed(app: FastAPI, channel: AppChannel, method: str, path: str, handler: Handler) -> None:
    async def route(http: HttpRequest) -> HttpResponse:
        headers = http.headers
        device_id = headers.get("mkoba-device", "")
        counter = headers.get("mkoba-counter", "")
        signature = headers.get("mkoba-signature", "")
        if max(len(device_id), len(counter), len(signature)) > header_chars_max:
            return answers.refused(
                "signature_invalid", "The request's signature is not valid.", 401
            )
        raw = await http.body()
        try:
            device = await channel.validator.verify(
                device_id, counter, signature, http.method, http.url.path, raw
            )
            answer = await handler(channel, Call(device, raw, http))
            # Its counter is committed before the answer leaves (after TranProc's commit it
            # already is: the writer keeps the order rows were handed to it in).
            await channel.validator.durable(device)
            return answer
        except bodies.BadBody as bad:
            return answers.refused("invalid_input", str(bad))
        except AppRefused as no:
            return answers.of(no)
        except Unavailable:
            return answers.busy()

    route.__name__ = "app_" + path.strip("/").replace("/", "_")
    app.add_api_route(PREFIX + path, route, methods=[method], tags=["app"], include_in_schema=False)


async def _me(channel: AppChannel, call: Call) -> HttpResponse:
    party = channel.ports.party(call.device.msisdn)
    return JSONResponse(
        {
            "msisdn": call.device.msisdn,
            "name": "" if party is None else party.name.upper(),
            "language": "en" if party is None else party.language,
            "device": call.device.id,
        }
    )


async def _balance(channel: AppChannel, call: Call) -> HttpResponse:
    body = bodies.read(bodies.PinBody, call.raw)
    response = await channel.ask(call, "balance", {}, body.pin)
    if not response.ok:
        return answers.from_tranproc(response)
    data = response.data
    return JSONResponse(
        {"balance": data["balance"], "currency": data["currency"], "text": response.message}
    )


async def _statement(channel: AppChannel, call: Call) -> HttpResponse:
    body = bodies.read(bodies.PinBody, call.raw)
    response = await channel.ask(call, "mini_statement", {}, body.pin)
    if not response.ok:
        return answers.from_tranproc(response)
    return JSONResponse({"entries": response.data.get("entries", []), "text": response.message})


async def _issue(channel: AppChannel, call: Call) -> HttpResponse:
    body = bodies.read(bodies.IssueBody, call.raw)
    party = channel.ports.party(call.device.msisdn)
    name = "" if party is None else party.name.upper()
    payee = Payee(
        PayeeKind.SEND_MONEY,
        call.device.msisdn,
        name[:25] or "MKOBA",
        channel.city(),
        person_category,
    )
    issued = await channel.validator.issue(call.device, body.amount, body.reference, payee)
    return JSONResponse(
        {
            "payload": issued.payload,
            "svg": render.svg(issued.payload, on_screen=True),
            "expires": issued.expires_ns // 1_000_000_000,
            "token": issued.token,
        },
        status_code=201,
    )


async def _read(channel: AppChannel, call: Call) -> HttpResponse:
    body = bodies.read(bodies.ReadBody, call.raw)
    code = await channel.validator.check(body.payload, call.device)
    shown = payments.Shown(code, payments.payee_of(channel.ports, code))
    return JSONResponse(shown.body())


async def _pay(channel: AppChannel, call: Call) -> HttpResponse:
    body = bodies.read(bodies.PayBody, call.raw)
    return await channel.pay(call, body)


async def _events(channel: AppChannel, call: Call) -> HttpResponse:
    bodies.read(bodies.EmptyBody, call.raw)
    return StreamingResponse(
        _stream(channel, call.device),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _stream(channel: AppChannel, device: Device) -> AsyncIterator[bytes]:
    with channel.notices.listen(device.msisdn) as queue:
        yield b": connected\n\n"
        while True:
            try:
                notice = await asyncio.wait_for(queue.get(), keep_alive_s)
            except TimeoutError:
                if not await channel.bound(device.id):
                    yield b'event: end\ndata: {"reason": "binding ended"}\n\n'
                    return
                yield b": keep-alive\n\n"
                continue
            yield notice.frame()
            if notice.event == END:
                return


async def _unbind(channel: AppChannel, call: Call) -> HttpResponse:
    bodies.read(bodies.EmptyBody, call.raw)
    await channel.end_bindings(call.device.msisdn, "unbind")
    return JSONResponse({"ended": True})


SIGNED: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/me", _me),
    ("POST", "/balance", _balance),
    ("POST", "/statement", _statement),
    ("POST", "/codes", _issue),
    ("POST", "/codes/read", _read),
    ("POST", "/pay", _pay),
    ("POST", "/events", _events),
    ("POST", "/unbind", _unbind),
    ("POST", "/paycodes", charging.show_paycode),
    ("POST", "/paycodes/charge", charging.charge),
    ("POST", "/charges/confirm", charging.confirm),
    ("POST", "/charges/decline", charging.decline),
    ("POST", "/charges/status", charging.status),
    ("POST", "/requests", social.request_money),
    ("POST", "/requests/pay", social.pay_request),
    ("POST", "/requests/decline", social.decline_request),
    ("POST", "/requests/mine", social.my_requests),
    ("POST", "/bills", social.split_bill),
    ("POST", "/bills/status", social.bill_status),
    ("POST", "/gifts", social.buy_gift),
    ("POST", "/gifts/use", social.use_gift),
)
