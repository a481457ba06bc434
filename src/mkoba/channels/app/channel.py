"""The smartphone channel, wired: the validation server, the app's routes and live notices.

The composition root gives it the ports and its tables; the validation server
(``validation``) owns device bindings, one-time codes and payment-code tokens,
and this channel translates the app's HTTP into calls on it and requests to
TranProc. It decides nothing: TranProc decides the payments.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fastapi.responses import JSONResponse
from starlette.responses import Response as HttpResponse

from mkoba.channels.app import answers, bodies, payments, routes
from mkoba.channels.app.asking import ask
from mkoba.channels.app.bus_notices import BusNotices
from mkoba.channels.app.notices import Board, Notices
from mkoba.channels.app.validation import ValidationServer, Validator
from mkoba.channels.app.validation.admission import validator_rows
from mkoba.channels.app.validation.remote import RemoteValidator, ValidatorServer
from mkoba.channels.app.validation.schema import migrate
from mkoba.parties.secrets import Otp
from mkoba.ports import Ports, Tables, Unavailable
from mkoba.processor.request import Response
from mkoba.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from mkoba.bus.jetstream import NatsBus
    from mkoba.bus.rows import Admission

# The city a person's payment code names (EMVCo field 60 is mandatory), by country.
_CITIES = {"KE": "NAIROBI"}
# The notice carrying a risk step-up's one-time code to the payer's device.
CONFIRM_CODE = "confirm_code"


class AppChannel:
    """Everything the smartphone channel runs.

    One validation server per platform: in one process and on a core it is this
    process's ``Validator``; a core in the split form also serves it on the bus
    (``ValidatorServer``), and a front calls that one (``RemoteValidator``): ``join``.
    With ``app_validator = "apart"`` it runs in a process of its own
    (``--role validator``): the core calls it as a front does, makes its tables and
    has its writer commit its rows (``front_rows``).
    """

    def __init__(self, ports: Ports, settings: Settings, tables: Tables) -> None:
        self.ports = ports
        self.settings = settings
        self.notices: Board = Notices()
        self._bus_notices: BusNotices | None = None
        self._local: Validator | None = None
        self._validator: ValidationServer | None = None  # ``validator``
        self._server: ValidatorServer | None = None
        self._apart = settings.app_validator == "apart"
        self.tables = tables
        if settings.role != "front" and not self._apart:
            self._local = self._validator = Validator(
                tables,
                ports.request,
                settings.keys_dir,
                ports.clock,
                ports.transport_key,
                code_life_s=settings.app_code_life_s,
            )

    def join(self, bus: NatsBus, serving: Callable[[], bool] = lambda: True) -> None:
        """The split form (before ``start``): a front's validation server is the core's,
        and notices reach a phone's stream on whichever process holds it.

        ``serving``: on a core, whether it surely still holds the ledger (its lease is
        fresh): a core paused past its lease answers no validation call once resumed, so
        none is answered from memory the live core has moved past.
        """
        self.notices = self._bus_notices = BusNotices(bus)
        if self._local is None:
            self._validator = RemoteValidator(bus, self.settings.request_timeout_s)
        else:
            self._server = ValidatorServer(bus, self._local, serving)

    @property
    def validator(self) -> ValidationServer:
        """This process's validation server, or the one it calls; ``Unavailable`` before
        ``join`` where it calls another (a standby core): the channel answers busy."""
        if self._validator is None:
            raise Unavailable("the app's validation server is not reachable from here yet")
        return self._validator

    def front_rows(self) -> Admission:
        """The rows a core commits for the validator process (none where it hosts it)."""
        return validator_rows() if self._apart and self.settings.role == "core" else {}

    def mount(self, app: FastAPI) -> None:
        """Add the app's routes and its web files (``/app``)."""
        routes.mount(app, self)

    async def start(self) -> None:
        """Start the validation server (its tables, its state), then serve it on the bus.

        A core whose validation server runs apart makes its tables for it.
        """
        if self._apart and self.settings.role == "core":
            await asyncio.to_thread(migrate, self.tables)
        await self.validator.start()
        if self._server is not None:
            await self._server.serve()
        if self._bus_notices is not None:
            await self._bus_notices.start()

    async def stop(self) -> None:
        """End every notices stream; let the codes on their way reach TranProc."""
        if self._server is not None:
            await self._server.stop()
        await self.validator.stop()
        if self._bus_notices is not None:
            await self._bus_notices.stop()  # this process's streams only, not the others'
        for msisdn in self.notices.phones():
            self.notices.end(msisdn, "the platform is stopping")

    def city(self) -> str:
        """The city a person's payment code names."""
        country = self.ports.profile().country
        return _CITIES.get(country, country)

    async def ask(
        self,
        call: routes.Call,
        product: str,
        params: dict[str, str],
        pin: str | None,
        otp: str | None = None,
    ) -> Response:
        """TranProc's delivered answer to what a signed call asks (``otp``: a step-up's code)."""
        return await ask(
            self.ports,
            call.request_id,
            call.device.msisdn,
            product,
            params,
            pin,
            _still_there(call.http.is_disconnected),
            otp,
        )

    async def confirm(
        self, body: bodies.ConfirmBody, disconnected: Callable[[], Awaitable[bool]]
    ) -> HttpResponse:
        """Finish an enrolment: the code, then the PIN (by TranProc), then the binding."""
        validator = self.validator
        msisdn = await validator.check_code(body.enrolment, body.code)
        # Each try its own request: a retry after a wrong PIN is a new question, not a replay.
        request_id = f"app:enrol:{body.enrolment}:{uuid.uuid4().hex[:12]}"
        response = await ask(
            self.ports, request_id, msisdn, "balance", {}, body.pin, _still_there(disconnected)
        )
        if not response.ok:
            return answers.from_tranproc(response)
        device = await validator.bind(body.enrolment, body.public_key, body.device_name or "phone")
        self.notices.end(msisdn, "new_device")
        party = self.ports.party(msisdn)
        return JSONResponse(
            {
                "device": device.id,
                "counter": device.counter,
                "name": "" if party is None else party.name.upper(),
                "msisdn": msisdn,
            },
            status_code=201,
        )

    async def pay(self, call: routes.Call, body: bodies.PayBody) -> HttpResponse:
        """Pay a payment code: take its token, ask TranProc, give the token back or spend it."""
        code = await self.validator.reserve(body.payload, call.device, call.request_id)
        paid = False
        try:
            payee = payments.payee_of(self.ports, code)
            amount = payments.amount_of(code, body.amount)
            product, params = payments.product_of(code, amount)
            response = await self.ask(call, product, params, body.pin, body.otp)
            paid = response.ok
        finally:
            if code.token is not None:
                await self.validator.settle(code.token, call.request_id, paid)
        if not response.ok:
            return answers.from_tranproc(response)
        payer = self.ports.party(call.device.msisdn)
        payer_name = "" if payer is None else payer.name.upper()
        payments.told(self.notices, call.device, payee, code, response, amount, payer_name)
        return JSONResponse(
            {
                "code": "ok",
                "receipt": response.receipt,
                "message": response.message,
                "amount": amount,
                "payee": payee.name.upper(),
            }
        )

    async def newest_binding(self, msisdn: str) -> int | None:
        """When the number's newest standing device binding was made (ns), or None: the
        risk rules' new-device signal (R7), read from the table, wherever the validation
        server runs."""
        rows = await asyncio.to_thread(
            self.tables.query,
            "SELECT MAX(created) FROM app_devices WHERE msisdn = ? AND state = 'active'",
            (msisdn,),
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def send_code(self, msisdn: str, code: Otp, amount: int, minutes: int) -> None:
        """A risk step-up's one-time code, to the number's bound device alone (its notices
        streams: ``event: confirm_code``); the risk rules' ``DeviceCode``, wired by ``app.py``.
        """
        data = {"code": code.reveal(), "amount": amount, "minutes": minutes}
        self.notices.publish(msisdn, CONFIRM_CODE, data)

    async def bound(self, device_id: str) -> bool:
        """Whether a device's binding still stands."""
        device = await self.validator.device(device_id)
        return device is not None and device.state == "active"

    async def end_bindings(self, msisdn: str, reason: str) -> int:
        """End a phone's bindings and its notices streams (``reason``: the validator's)."""
        ended = await self.validator.end_bindings(msisdn, reason)
        self.notices.end(msisdn, reason)
        return ended


def _still_there(disconnected: Callable[[], Awaitable[bool]]) -> Callable[[], Awaitable[bool]]:
    async def still_there() -> bool:
        return not await disconnected()

    return still_there
