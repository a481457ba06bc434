"""A well-formed request for every Daraja route, for tests that spoil one field at a time.

Each body is what a careful client sends to the sandbox (its shortcodes, its
test customer, its initiator), so that without the spoiled field the request
would be accepted and would reach the store. ``raw`` writes a body as JSON
bytes the way a hostile client can: lone surrogates as ``\\ud800`` escapes,
and number literals of any length (``Literal``), which ``json.dumps`` cannot.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
from typing import Any, NamedTuple

from mkoba.channels.daraja.demo import INITIATOR
from mkoba.demo.sandbox import PASSKEY, STK_SHORTCODE, TEST_MSISDN

PAYBILL = "600984"
B2C_SHORTCODE = "600000"
TILL = "600100"
TAX_AUTHORITY = "572572"
# Daraja's routes that take an Amount (the nine of them).
AMOUNT_PATHS = (
    "/mpesa/stkpush/v1/processrequest",
    "/mpesa/c2b/v1/simulate",
    "/mpesa/b2c/v3/paymentrequest",
    "/mpesa/b2c/v1/paymentrequest",
    "/mpesa/b2pochi/v1/paymentrequest",
    "/mpesa/b2b/v1/paymentrequest",
    "/mpesa/b2b/v1/remittax",
    "/mpesa/reversal/v1/request",
    "/mpesa/qrcode/v1/generate",
)


class Literal(str):
    """A JSON number literal written exactly as given (``1e3``, 5,000 digits, ``NaN``)."""

    __slots__ = ()


def raw(body: Any) -> bytes:
    """``body`` as JSON bytes: ASCII with ``\\uXXXX`` escapes, ``Literal`` values bare."""
    mark = uuid.uuid4().hex

    def marked(value: Any) -> Any:
        if isinstance(value, Literal):
            return mark + str.__str__(value)
        if isinstance(value, dict):
            return {key: marked(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [marked(item) for item in value]
        return value

    text = json.dumps(marked(body))
    return re.sub(f'"{mark}([^"]*)"', r"\1", text).encode("ascii")


class Call(NamedTuple):
    """One route and a body it accepts."""

    path: str
    body: dict[str, Any]


def stk_password(stamp: str) -> str:
    """The sandbox shortcode's STK password for ``stamp``."""
    return base64.b64encode(f"{STK_SHORTCODE}{PASSKEY}{stamp}".encode()).decode()


def calls(callback: str) -> list[Call]:
    """A body each Daraja POST route accepts, results and callbacks going to ``callback``."""
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    urls = {"ResultURL": callback, "QueueTimeOutURL": callback + "/timeout"}
    initiator = {"SecurityCredential": "credential", "Remarks": "remarks"}
    b2c = {
        "InitiatorName": INITIATOR,
        **initiator,
        "CommandID": "BusinessPayment",
        "Amount": 10,
        "PartyA": B2C_SHORTCODE,
        "PartyB": TEST_MSISDN,
        "Occasion": "occasion",
        **urls,
    }
    simulate = {
        "ShortCode": PAYBILL,
        "CommandID": "CustomerPayBillOnline",
        "Amount": 1,
        "Msisdn": TEST_MSISDN,
        "BillRefNumber": "invoice",
    }
    register = {
        "ShortCode": PAYBILL,
        "ResponseType": "Completed",
        "ConfirmationURL": callback,
        "ValidationURL": callback + "/validation",
    }
    return [
        Call(
            "/mpesa/stkpush/v1/processrequest",
            {
                "BusinessShortCode": STK_SHORTCODE,
                "Password": stk_password(stamp),
                "Timestamp": stamp,
                "TransactionType": "CustomerPayBillOnline",
                "Amount": 1,
                "PartyA": TEST_MSISDN,
                "PartyB": STK_SHORTCODE,
                "PhoneNumber": TEST_MSISDN,
                "CallBackURL": callback,
                "AccountReference": "account",
                "TransactionDesc": "description",
            },
        ),
        Call(
            "/mpesa/stkpushquery/v1/query",
            {
                "BusinessShortCode": STK_SHORTCODE,
                "Password": stk_password(stamp),
                "Timestamp": stamp,
                "CheckoutRequestID": "ws_CO_000000000000000000000000000",
            },
        ),
        Call("/mpesa/c2b/v1/registerurl", register),
        Call("/mpesa/c2b/v2/registerurl", register),
        Call("/mpesa/c2b/v1/simulate", simulate),
        Call("/mpesa/c2b/v2/simulate", simulate),
        Call(
            "/mpesa/b2c/v3/paymentrequest",
            {"OriginatorConversationID": uuid.uuid4().hex, **b2c},
        ),
        Call("/mpesa/b2c/v1/paymentrequest", b2c),
        Call(
            "/mpesa/b2pochi/v1/paymentrequest",
            {
                **b2c,
                "OriginatorConversationID": uuid.uuid4().hex,
                "CommandID": "BusinessPayToPochi",
            },
        ),
        Call(
            "/mpesa/b2b/v1/paymentrequest",
            {
                "Initiator": INITIATOR,
                **initiator,
                "CommandID": "BusinessPayBill",
                "SenderIdentifierType": "4",
                "RecieverIdentifierType": "4",
                "Amount": 10,
                "PartyA": B2C_SHORTCODE,
                "PartyB": PAYBILL,
                "AccountReference": "account",
                "Requester": TEST_MSISDN,
                "Occassion": "occasion",
                **urls,
            },
        ),
        Call(
            "/mpesa/b2b/v1/remittax",
            {
                "Initiator": INITIATOR,
                **initiator,
                "CommandID": "PayTaxToKRA",
                "SenderIdentifierType": "4",
                "RecieverIdentifierType": "4",
                "Amount": 10,
                "PartyA": B2C_SHORTCODE,
                "PartyB": TAX_AUTHORITY,
                "AccountReference": "PRN1234",
                **urls,
            },
        ),
        Call(
            "/mpesa/transactionstatus/v1/query",
            {
                "Initiator": INITIATOR,
                **initiator,
                "CommandID": "TransactionStatusQuery",
                "TransactionID": "UAB1234567",
                "OriginalConversationID": "originator",
                "PartyA": B2C_SHORTCODE,
                "IdentifierType": "4",
                "Occasion": "occasion",
                **urls,
            },
        ),
        Call(
            "/mpesa/accountbalance/v1/query",
            {
                "Initiator": INITIATOR,
                **initiator,
                "CommandID": "AccountBalance",
                "PartyA": B2C_SHORTCODE,
                "IdentifierType": "4",
                **urls,
            },
        ),
        Call(
            "/mpesa/reversal/v1/request",
            {
                "Initiator": INITIATOR,
                **initiator,
                "CommandID": "TransactionReversal",
                "TransactionID": "UAB1234567",
                "Amount": 10,
                "ReceiverParty": B2C_SHORTCODE,
                "RecieverIdentifierType": "11",
                "Occasion": "occasion",
                **urls,
            },
        ),
        Call(
            "/mpesa/qrcode/v1/generate",
            {
                "MerchantName": "Shop",
                "RefNo": "invoice",
                "Amount": 10,
                "TrxCode": "BG",
                "CPI": TILL,
                "Size": "300",
            },
        ),
        Call(
            "/pulltransactions/v1/register",
            {
                "ShortCode": PAYBILL,
                "RequestType": "Pull",
                "NominatedNumber": TEST_MSISDN,
                "CallBackURL": callback,
            },
        ),
        Call(
            "/pulltransactions/v1/query",
            {
                "ShortCode": PAYBILL,
                "StartDate": "2024-01-01 00:00:00",
                "EndDate": "2024-01-02 00:00:00",
                "OffSetValue": "0",
            },
        ),
    ]
