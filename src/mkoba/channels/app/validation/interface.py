"""What the app channel calls on its validation server, in process or across the bus.

``Validator`` (the server itself) and ``RemoteValidator`` (a front's, asking the
core's over NATS) both satisfy ``ValidationServer``: the channel holds either.
"""

from __future__ import annotations

from typing import Protocol

from mkoba.channels.app.keqr import Payee, PaymentCode
from mkoba.channels.app.validation.charge_rows import ChargeRow
from mkoba.channels.app.validation.devices import Device
from mkoba.channels.app.validation.tokens import IssuedCode


class ChargesServer(Protocol):
    """Pay by code (customer-presented): ``Validator.charges``."""

    async def issue(self, payer: Device) -> tuple[str, int]: ...

    async def charge(
        self, payee: Device, digits: str, amount: int, reference: str
    ) -> ChargeRow: ...

    async def take(self, payer: Device, charge_id: str, request_id: str) -> ChargeRow: ...

    async def settle(self, charge_id: str, request_id: str, receipt: str | None) -> ChargeRow: ...

    async def decline(self, payer: Device, charge_id: str) -> ChargeRow: ...

    async def status(self, device: Device, charge_id: str) -> tuple[ChargeRow, str]: ...


class ValidationServer(Protocol):
    """Enrolment codes, device bindings, signed requests and payment codes."""

    @property
    def charges(self) -> ChargesServer: ...

    async def start(self) -> None: ...

    async def drain(self) -> None: ...

    async def stop(self) -> None: ...

    async def enrol(self, msisdn: str) -> tuple[str, int]: ...

    async def check_code(self, enrolment: str, code: str) -> str: ...

    async def bind(
        self, enrolment: str, public_key_spki: bytes | str, device_name: str
    ) -> Device: ...

    async def end_bindings(self, msisdn: str, reason: str) -> int: ...

    async def device(self, device_id: str) -> Device | None: ...

    async def verify(
        self, device_id: str, counter: str, signature: str, method: str, path: str, body: bytes
    ) -> Device: ...

    async def durable(self, device: Device) -> None: ...

    async def issue(
        self, payee: Device, amount: int | None, reference: str, payee_view: Payee
    ) -> IssuedCode: ...

    async def check(self, payload: str, payer: Device) -> PaymentCode: ...

    async def reserve(self, payload: str, payer: Device, request_id: str) -> PaymentCode: ...

    async def settle(self, token: str, request_id: str, paid: bool) -> None: ...
