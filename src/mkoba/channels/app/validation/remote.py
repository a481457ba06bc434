"""The validation server across the bus: the core hosts it, fronts' app channels call it.

(Or a process of its own hosts it, ``--role validator``, and the core calls it too.)

- ``ValidatorServer`` (the core): answers calls on ``<prefix>.validation`` (one
  subject; the method is named in the body, ``wire.py``), each in a task of its own.
- ``RemoteValidator`` (a front): the ``ValidationServer`` the channel calls. While
  no server answers (a core restarting, a standby taking over) it asks again until
  its deadline, then raises ``ValidatorUnavailableError`` (an ``Unavailable``): the
  channel answers busy. Each call carries an id of its own and the server keeps
  recent answers by id, so a call asked again (its answer lost, or late) is
  answered with the first answer and applied once: a verified counter, a reserved
  token, a charge taken. A server whose store cannot commit answers busy, and the
  front does not ask again (the call may have moved state in memory): it is busy.

``verify``: the server waits until the moved counter is committed before it
answers, so the front's ``durable`` has nothing left to wait for (a no-op). This
commits the counter before the request's work rather than before its answer: the
same guarantee, a little sooner.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError

from mkoba.bus.asking import NoAnswer, ask_until
from mkoba.bus.jetstream import NatsBus
from mkoba.channels.app.keqr import Payee, PaymentCode
from mkoba.channels.app.validation import wire
from mkoba.channels.app.validation.charge_rows import ChargeRow
from mkoba.channels.app.validation.devices import Device
from mkoba.channels.app.validation.refusals import AppRefused
from mkoba.channels.app.validation.tokens import IssuedCode
from mkoba.channels.app.validation.validator import Validator
from mkoba.ledger import WriterError
from mkoba.ports import Unavailable

if TYPE_CHECKING:
    from mkoba.channels.app.validation.interface import ValidationServer

log = logging.getLogger("mkoba.app.validation")

# Answers the server keeps by call id (a retry of one of them is answered, not run again).
answers_kept_max = 16_384


class ValidatorUnavailableError(Unavailable):
    """No validation server answered in time, or it could not commit: answer busy."""


class ValidationFailedError(RuntimeError):
    """The validation server failed unexpectedly (its text says only the error's type)."""


class ValidatorServer:
    """The core's side: one ``Validator`` answering every front's app channel."""

    def __init__(
        self, bus: NatsBus, validator: Validator, serving: Callable[[], bool] = lambda: True
    ) -> None:
        self.bus = bus
        self.validator = validator
        # Whether to answer now: apart, only while this process's lease is fresh
        # (``validator_role``). A call left unanswered is asked again, of the holder.
        self.serving = serving
        # Answers by call id, first one included while it is being worked out.
        self._answers: OrderedDict[str, asyncio.Future[bytes]] = OrderedDict()
        self._subscription: Subscription | None = None

    async def serve(self) -> None:
        """Listen on ``<prefix>.validation``."""
        subject = f"{self.bus.prefix}.validation"
        self._subscription = await self.bus.client.subscribe(subject, cb=self._on_call)

    async def stop(self) -> None:
        """Stop listening, then finish the calls in hand (before a successor may serve)."""
        if self._subscription is not None:
            try:
                await self._subscription.unsubscribe()
            except NatsError as problem:  # the connection already gone: nothing to undo
                log.warning("validation server: %s at stop", type(problem).__name__)
            self._subscription = None
        in_hand = [answer for answer in self._answers.values() if not answer.done()]
        if in_hand:
            await asyncio.wait(in_hand)

    async def _on_call(self, message: Msg) -> None:
        if not self.serving():
            log.warning("validation server: a call left unanswered (this lease is stale)")
            return
        self.bus.spawn(self._answer(message))

    async def _answer(self, message: Msg) -> None:
        try:
            call_id, method, args = wire.request_from(message.data)
        except ValueError as problem:  # our own words: never the body's values
            await message.respond(wire.failed_bytes(f"refused: {problem}"))
            return
        known = self._answers.get(call_id)
        if known is not None:
            # Asked again (the first answer lost or late): answered as the first time.
            await message.respond(await asyncio.shield(known))
            return
        answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._answers[call_id] = answer
        if len(self._answers) > answers_kept_max:
            self._answers.popitem(last=False)
        try:
            answer.set_result(await self._call(method, args))
        except BaseException:  # cancelled (the bus closing): a retry runs it afresh
            self._answers.pop(call_id, None)
            answer.cancel()
            raise
        await message.respond(answer.result())

    async def _call(self, method: str, args: list[Any]) -> bytes:
        try:
            return wire.ok_bytes(method, await self._run(method, args))
        except AppRefused as refusal:
            try:
                return wire.refused_bytes(refusal)
            except (TypeError, ValueError):
                log.error("validation %s: a refusal's extra does not cross the bus", method)
                return wire.failed_bytes("failed: AppRefused")
        except (Unavailable, WriterError):  # the store cannot commit now: the channel says busy
            return wire.BUSY
        except Exception as problem:
            # Its text may hold a secret (a code, a key): only its type is told.
            log.error("validation %s failed: %s", method, type(problem).__name__)
            return wire.failed_bytes(f"failed: {type(problem).__name__}")

    async def _run(self, method: str, args: list[Any]) -> object:
        validator = self.validator
        if method == "verify":
            device = await validator.verify(*args)
            await validator.durable(device)  # committed before the front goes on
            return device
        target: object = validator.charges if method.startswith("charges.") else validator
        call = getattr(target, method.removeprefix("charges."))
        return await call(*args)


class RemoteValidator:
    """A front's validation server: the core's, asked across the bus."""

    def __init__(self, bus: NatsBus, timeout_s: float) -> None:
        self.bus = bus
        self.timeout_s = timeout_s
        self.charges = RemoteCharges(self)
        # Call ids: this front's random part, then a count (unique across fronts).
        self._id_prefix = secrets.token_hex(8)
        self._ids = itertools.count()

    async def start(self) -> None:
        """Nothing to start: the core starts the validator."""

    async def drain(self) -> None:
        """Nothing held here: every call is answered before it returns."""

    async def stop(self) -> None:
        """Nothing to stop: the core stops the validator."""

    def new_id(self) -> str:
        """A call id no other call of any front has."""
        return f"{self._id_prefix}{next(self._ids):x}"

    async def call(self, method: str, *args: object, call_id: str = "") -> Any:
        """``method``'s result from the server; its refusal raised again."""
        body = wire.request_bytes(call_id or self.new_id(), method, args)
        answer = wire.answer_from(method, await self._ask(body))
        if answer.kind == "ok":
            return answer.value
        if answer.kind == "refused":
            raise answer.value
        if answer.kind == "busy":
            raise ValidatorUnavailableError("the validation server cannot commit now")
        raise ValidationFailedError(f"the validation server's {method}: {answer.value}")

    async def _ask(self, body: bytes) -> bytes:
        """The server's answer to ``body``; asked again until one comes or the deadline."""
        subject = f"{self.bus.prefix}.validation"
        try:
            return await ask_until(self.bus.client, subject, self.timeout_s, body)
        except NoAnswer:
            raise ValidatorUnavailableError(
                f"no validation server answered on {subject} in {self.timeout_s:g} s"
            ) from None

    async def enrol(self, msisdn: str) -> tuple[str, int]:
        """``Validator.enrol``."""
        result: tuple[str, int] = await self.call("enrol", msisdn)
        return result

    async def check_code(self, enrolment: str, code: str) -> str:
        """``Validator.check_code``."""
        result: str = await self.call("check_code", enrolment, code)
        return result

    async def bind(self, enrolment: str, public_key_spki: bytes | str, device_name: str) -> Device:
        """``Validator.bind``."""
        result: Device = await self.call("bind", enrolment, public_key_spki, device_name)
        return result

    async def end_bindings(self, msisdn: str, reason: str) -> int:
        """``Validator.end_bindings``."""
        result: int = await self.call("end_bindings", msisdn, reason)
        return result

    async def device(self, device_id: str) -> Device | None:
        """``Validator.device``."""
        result: Device | None = await self.call("device", device_id)
        return result

    async def verify(
        self, device_id: str, counter: str, signature: str, method: str, path: str, body: bytes
    ) -> Device:
        """``Validator.verify``; answered once the counter is committed."""
        result: Device = await self.call(
            "verify", device_id, counter, signature, method, path, body
        )
        return result

    async def durable(self, device: Device) -> None:
        """Nothing to wait for: ``verify`` was answered once its counter was committed."""

    async def issue(
        self, payee: Device, amount: int | None, reference: str, payee_view: Payee
    ) -> IssuedCode:
        """``Validator.issue``."""
        result: IssuedCode = await self.call("issue", payee, amount, reference, payee_view)
        return result

    async def check(self, payload: str, payer: Device) -> PaymentCode:
        """``Validator.check``."""
        result: PaymentCode = await self.call("check", payload, payer)
        return result

    async def reserve(self, payload: str, payer: Device, request_id: str) -> PaymentCode:
        """``Validator.reserve``."""
        result: PaymentCode = await self.call("reserve", payload, payer, request_id)
        return result

    async def settle(self, token: str, request_id: str, paid: bool) -> None:
        """``Validator.settle``."""
        await self.call("settle", token, request_id, paid)


class RemoteCharges:
    """``Validator.charges`` across the bus (``status`` is async here, as there)."""

    def __init__(self, remote: RemoteValidator) -> None:
        self._remote = remote

    async def issue(self, payer: Device) -> tuple[str, int]:
        """``Charges.issue``."""
        result: tuple[str, int] = await self._remote.call("charges.issue", payer)
        return result

    async def charge(self, payee: Device, digits: str, amount: int, reference: str) -> ChargeRow:
        """``Charges.charge``."""
        result: ChargeRow = await self._remote.call(
            "charges.charge", payee, digits, amount, reference
        )
        return result

    async def take(self, payer: Device, charge_id: str, request_id: str) -> ChargeRow:
        """``Charges.take``."""
        result: ChargeRow = await self._remote.call("charges.take", payer, charge_id, request_id)
        return result

    async def settle(self, charge_id: str, request_id: str, receipt: str | None) -> ChargeRow:
        """``Charges.settle``."""
        result: ChargeRow = await self._remote.call(
            "charges.settle", charge_id, request_id, receipt
        )
        return result

    async def decline(self, payer: Device, charge_id: str) -> ChargeRow:
        """``Charges.decline``."""
        result: ChargeRow = await self._remote.call("charges.decline", payer, charge_id)
        return result

    async def status(self, device: Device, charge_id: str) -> tuple[ChargeRow, str]:
        """``Charges.status``."""
        result: tuple[ChargeRow, str] = await self._remote.call("charges.status", device, charge_id)
        return result


if TYPE_CHECKING:

    def _either(local: Validator, remote: RemoteValidator) -> list[ValidationServer]:
        """Both are the channel's validation server (checked by mypy)."""
        return [local, remote]
