"""Requests and responses: what crosses the bus between channels and TranProc.

A request carries no clear PIN: channels seal it (``SealedPin``) before it
leaves them. What it asks is its product's typed command (``mkoba.commands``),
parsed once by the channel that took it: amounts in minor units, numbers canonical.
"""

from __future__ import annotations

import enum
import hashlib
import json
from typing import Any, NamedTuple

from mkoba.codes import Code
from mkoba.commands import Command
from mkoba.parties.secrets import SealedPin

# A request id (the idempotency key) is at most this long, as Stripe's keys are.
request_id_length_max = 255
# A callback's names and address are at most this long.
callback_length_max = 512


class Channel(enum.StrEnum):
    """Where a request came from; the response-delivery deadline is set per channel."""

    API = "api"
    USSD = "ussd"
    SMS = "sms"
    APP = "app"
    STK = "stk"
    # The SIM-toolkit applet's secured SMS (channels/sim): not Daraja's STK push.
    SIM = "sim"
    DARAJA = "daraja"
    STAFF = "staff"
    SYSTEM = "system"


class Callback(NamedTuple):
    """Where a channel wants a request's outcome sent, and the names that tie it back.

    An STK push: the prompt's CheckoutRequestID, the caller's MerchantRequestID and
    its CallBackURL. TranProc only carries it to the payment's event
    (``processor/events.py``); the channel that asked renders the callback.
    """

    reference: str
    correlation: str
    url: str


class Staff(NamedTuple):
    """Who acts in a request from the operator console, which signed them in.

    ``maker`` started the action; ``checker``, where the console's policy wanted one,
    approved it (a different member of staff, after a fresh second factor). ``phones``
    are the wallets linked to either: they may not act on those.
    """

    maker: str
    role: str
    checker: str = ""
    phones: tuple[str, ...] = ()


class Request(NamedTuple):
    """One thing someone asks TranProc to do."""

    id: str
    channel: Channel
    product: str
    msisdn: str
    command: Command
    pin: SealedPin | None = None
    received: int = 0
    # The channel knows the caller is this number's phone (the network said so: a USSD
    # gateway, an SMSC, an STK answer), not only the body (``processor/proof.py``).
    phone_verified: bool = False
    callback: Callback | None = None
    # A new PIN (changing one, or unlocking one's own), sealed as ``pin`` is.
    new_pin: SealedPin | None = None
    # The members of staff a console request acts for (``Channel.STAFF`` only).
    staff: Staff | None = None
    # A one-time code confirming a stepped-up payment (sent to the payer's app device),
    # sealed as ``pin`` is, for ``request_id:otp``.
    otp: SealedPin | None = None

    def fingerprint(self) -> str:
        """What must match for a replay with this id to count as the same request.

        Sealed PINs and codes are left out: each sealing encrypts afresh, and a PIN is never part
        of what makes two requests the same. A replay of a request that needed a PIN
        must bring it again (``Processor``).
        """
        fields = sorted(self.command.wire().items())
        parts: list[object] = [str(self.channel), self.product, self.msisdn, fields]
        if self.staff is not None:
            parts.append([self.staff.maker, self.staff.checker])
        body = json.dumps(parts, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()[:32]


class Response(NamedTuple):
    """TranProc's answer to one request."""

    request_id: str
    code: Code
    message: str
    receipt: str | None = None
    data: dict[str, Any] = {}  # noqa: RUF012 (NamedTuple defaults are shared, never mutated)

    @property
    def ok(self) -> bool:
        """True when the request did what was asked (or will, once delivered)."""
        return self.code.ok

    def to_json(self) -> str:
        """The stored form, for replays: keys keep their order, so a replay is byte for byte."""
        return json.dumps(
            {
                "request_id": self.request_id,
                "code": str(self.code),
                "message": self.message,
                "receipt": self.receipt,
                "data": self.data,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Response:
        """A stored response."""
        body = json.loads(text)
        return cls(
            body["request_id"], Code(body["code"]), body["message"], body["receipt"], body["data"]
        )


def failure(request: Request, code: Code, message: str | None = None, **data: Any) -> Response:
    """A response saying the request failed, and why."""
    assert not code.ok
    return Response(request.id, code, message or code.message, None, data)
