"""The business APIs: B2C (v1, v3), B2Pochi, B2B (paybill, buy goods, top-up), tax,
transaction status, account balance and reversal.

Each route checks what Daraja checks at once (token, fields, the shortcode is
the app's), judges the initiator and its SecurityCredential, stores the
request and acknowledges it; the result follows by callback
(conversations.py). A wrong initiator is not a synchronous error on Daraja
but a result (2001, or 21 for a missing role), and so it is here.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request as HttpRequest

from mkoba.channels.daraja.body import Body
from mkoba.channels.daraja.conversations import KINDS
from mkoba.channels.daraja.envelope import DarajaError
from mkoba.channels.daraja.http import acknowledged, authenticate, channel, endpoint
from mkoba.channels.daraja.registry import App
from mkoba.channels.daraja.state import Daraja

B2C_COMMANDS = ("BusinessPayment", "SalaryPayment", "PromotionPayment")
# Daraja's B2B CommandIDs, as its documentation lists them: paying another business,
# then moving money between a business's own accounts (the B2B product decides each).
B2B_COMMANDS = (
    "BusinessPayBill",
    "BusinessBuyGoods",
    "BusinessPayToBulk",
    "BusinessTransferFromMMFToUtility",
    "BusinessTransferFromUtilityToMMF",
)
_SHORTCODE_TYPE = ("4",)
_IDENTIFIER_TYPES = ("1", "2", "4")
_REVERSAL_TYPES = ("11", "4")


def _shortcode(daraja: Daraja, app: App, body: Body, name: str) -> str:
    """A shortcode field that must name one of the app's shortcodes."""
    shortcode = body.digits(name)
    if daraja.registry.shortcode_of(app, shortcode) is None:
        raise DarajaError.field(name)
    return shortcode


def _urls(body: Body) -> tuple[str, str]:
    return body.url("ResultURL"), body.url("QueueTimeOutURL", "QueueTimeoutURL")


def _credential(body: Body) -> str:
    return body.text("SecurityCredential", required=False, length_max=4096)


async def _accept(
    daraja: Daraja,
    app: App,
    kind: str,
    shortcode: str,
    initiator: str,
    credential: str,
    params: dict[str, str],
    urls: tuple[str, str],
    originator_id: str = "",
) -> dict[str, str]:
    refusal = daraja.check_initiator(app, initiator, credential, KINDS[kind].role)
    params = {key: value for key, value in params.items() if value}
    conversation = await daraja.conversations.accept(
        app, kind, shortcode, initiator, refusal, params, urls, originator_id
    )
    return acknowledged(conversation.conversation_id, conversation.originator_id)


async def _b2c(
    request: HttpRequest, kind: str, commands: tuple[str, ...], v3: bool
) -> dict[str, str]:
    daraja = channel(request)
    app = authenticate(daraja, request, "b2c", KINDS[kind].api)
    body = await Body.read(request)
    originator = body.text("OriginatorConversationID", required=False, length_max=64) if v3 else ""
    initiator = body.text("InitiatorName", "Initiator")
    credential = _credential(body)
    command = body.choice("CommandID", commands) if body.has("CommandID") else commands[0]
    amount = body.amount("Amount")
    shortcode = _shortcode(daraja, app, body, "PartyA")
    msisdn = body.msisdn("PartyB")
    params = {
        "shortcode": shortcode,
        "to": msisdn,
        "amount": str(amount),
        "command": command,
        "remarks": body.text("Remarks", required=False, length_max=100),
        "occasion": body.text("Occassion", "Occasion", required=False, length_max=100),
    }
    return await _accept(
        daraja, app, kind, shortcode, initiator, credential, params, _urls(body), originator
    )


@endpoint
async def b2c_v3(request: HttpRequest) -> dict[str, str]:
    """``POST /mpesa/b2c/v3/paymentrequest``."""
    return await _b2c(request, "b2c", B2C_COMMANDS, True)


@endpoint
async def b2c_v1(request: HttpRequest) -> dict[str, str]:
    """``POST /mpesa/b2c/v1/paymentrequest`` (legacy: no OriginatorConversationID)."""
    return await _b2c(request, "b2c", B2C_COMMANDS, False)


@endpoint
async def b2pochi(request: HttpRequest) -> dict[str, str]:
    """``POST /mpesa/b2pochi/v1/paymentrequest``."""
    return await _b2c(request, "b2pochi", ("BusinessPayToPochi",), True)


def _identifier(body: Body, names: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    """An identifier type, when given, must be one of ``allowed`` (int or string)."""
    value = body.digits(*names, required=False)
    if value and value not in allowed:
        raise DarajaError.field(names[0])


_SENDER = ("SenderIdentifierType",)
# Daraja spells it "Reciever"; a client that fixes the spelling is as welcome.
_RECEIVER = ("RecieverIdentifierType", "ReceiverIdentifierType")
_IDENTIFIER = ("IdentifierType",)


@endpoint
async def b2b(request: HttpRequest) -> dict[str, str]:
    """``POST /mpesa/b2b/v1/paymentrequest``: pay bill, buy goods, top-up, own-account moves."""
    daraja = channel(request)
    app = authenticate(daraja, request, "c2b", "b2b")
    body = await Body.read(request)
    initiator = body.text("Initiator", "InitiatorName")
    credential = _credential(body)
    command = body.choice("CommandID", B2B_COMMANDS)
    _identifier(body, _SENDER, _SHORTCODE_TYPE)
    _identifier(body, _RECEIVER, _SHORTCODE_TYPE)
    amount = body.amount("Amount")
    shortcode = _shortcode(daraja, app, body, "PartyA")
    params = {
        "shortcode": shortcode,
        "command": command,
        "target": body.digits("PartyB"),
        "amount": str(amount),
        "account": body.text(
            "AccountReference", required=command == "BusinessPayBill", length_max=100
        ),
        "requester": body.text("Requester", required=False, length_max=20),
        "remarks": body.text("Remarks", required=False, length_max=100),
        "occasion": body.text("Occassion", "Occasion", required=False, length_max=100),
    }
    return await _accept(daraja, app, "b2b", shortcode, initiator, credential, params, _urls(body))


@endpoint
async def remit_tax(request: HttpRequest) -> dict[str, str]:
    """``POST /mpesa/b2b/v1/remittax``: PayTaxToKRA."""
    daraja = channel(request)
    app = authenticate(daraja, request, "c2b", "tax")
    body = await Body.read(request)
    initiator = body.text("Initiator", "InitiatorName")
    credential = _credential(body)
    body.choice("CommandID", ("PayTaxToKRA",))
    _identifier(body, _SENDER, _SHORTCODE_TYPE)
    _identifier(body, _RECEIVER, _SHORTCODE_TYPE)
    amount = body.amount("Amount")
    shortcode = _shortcode(daraja, app, body, "PartyA")
    params = {
        "shortcode": shortcode,
        "target": body.digits("PartyB"),
        "amount": str(amount),
        "account": body.text("AccountReference", length_max=100),
        "remarks": body.text("Remarks", required=False, length_max=100),
    }
    return await _accept(daraja, app, "tax", shortcode, initiator, credential, params, _urls(body))


@endpoint
async def status(request: HttpRequest) -> dict[str, str]:
    """``POST /mpesa/transactionstatus/v1/query``: by receipt or OriginalConversationID."""
    daraja = channel(request)
    app = authenticate(daraja, request, "c2b", "status")
    body = await Body.read(request)
    initiator = body.text("Initiator", "InitiatorName")
    credential = _credential(body)
    body.choice("CommandID", ("TransactionStatusQuery",))
    receipt = body.text("TransactionID", required=False, length_max=64).upper()
    original = body.text(
        "OriginalConversationID", "OriginatorConversationID", required=False, length_max=64
    )
    if not receipt and not original:
        raise DarajaError.field("TransactionID")
    _identifier(body, _IDENTIFIER, _IDENTIFIER_TYPES)
    shortcode = _shortcode(daraja, app, body, "PartyA")
    params = {
        "shortcode": shortcode,
        "receipt": receipt,
        "remarks": body.text("Remarks", required=False, length_max=100),
        "occasion": body.text("Occasion", "Occassion", required=False, length_max=100),
    }
    if not receipt:
        found = await daraja.conversations.by_originator(app.id, original)
        # An id this app never used finds nothing, as a made-up receipt would.
        params["request"] = found.request_id if found is not None else f"unknown:{original}"
    return await _accept(
        daraja, app, "status", shortcode, initiator, credential, params, _urls(body)
    )


@endpoint
async def balance(request: HttpRequest) -> dict[str, str]:
    """``POST /mpesa/accountbalance/v1/query``."""
    daraja = channel(request)
    app = authenticate(daraja, request, "b2c", "balance")
    body = await Body.read(request)
    initiator = body.text("Initiator", "InitiatorName")
    credential = _credential(body)
    body.choice("CommandID", ("AccountBalance",))
    _identifier(body, _IDENTIFIER, _IDENTIFIER_TYPES)
    shortcode = _shortcode(daraja, app, body, "PartyA")
    params = {"shortcode": shortcode, "remarks": body.text("Remarks", required=False)}
    return await _accept(
        daraja, app, "balance", shortcode, initiator, credential, params, _urls(body)
    )


@endpoint
async def reversal(request: HttpRequest) -> dict[str, Any]:
    """``POST /mpesa/reversal/v1/request``."""
    daraja = channel(request)
    app = authenticate(daraja, request, "b2c", "reversal")
    body = await Body.read(request)
    initiator = body.text("Initiator", "InitiatorName")
    credential = _credential(body)
    body.choice("CommandID", ("TransactionReversal",))
    receipt = body.text("TransactionID", length_max=64).upper()
    amount = body.amount("Amount")
    shortcode = _shortcode(daraja, app, body, "ReceiverParty")
    _identifier(body, _RECEIVER, _REVERSAL_TYPES)
    params = {
        "shortcode": shortcode,
        "receipt": receipt,
        "amount": str(amount),
        "remarks": body.text("Remarks", required=False, length_max=100),
        "occasion": body.text("Occasion", "Occassion", required=False, length_max=100),
    }
    return await _accept(
        daraja, app, "reversal", shortcode, initiator, credential, params, _urls(body)
    )
