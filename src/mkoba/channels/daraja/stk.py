"""M-Pesa Express (STK push) and its query.

The push is checked as Daraja checks it (the shortcode is the app's, the
password is base64(shortcode + passkey + Timestamp) for the body's own
timestamp, the MSISDNs and amount are well formed), stored, and shown on the
customer's handset; the answer comes later by callback (prompts.py). The
query answers from the stored prompt: ``500.001.1001`` while the customer has
not finished, then the real ``ResultCode``, as a string.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request as HttpRequest

from mkoba.channels.daraja import ids
from mkoba.channels.daraja.body import Body
from mkoba.channels.daraja.envelope import (
    MERCHANT,
    PROCESSING,
    SUBSCRIBER_LOCKED,
    WRONG_CREDENTIALS,
    DarajaError,
)
from mkoba.channels.daraja.http import authenticate, channel, endpoint, password_matches
from mkoba.channels.daraja.registry import App, Shortcode
from mkoba.channels.daraja.state import Daraja
from mkoba.channels.daraja.stk_prompt import Prompt, business_name

PAYBILL = "CustomerPayBillOnline"
BUY_GOODS = "CustomerBuyGoodsOnline"
ACCEPTED = "Success. Request accepted for processing"
# YYYYMMDDHHmmss, in ASCII digits ("١" is a digit to str.isdigit, not to Daraja).
_TIMESTAMP = re.compile(r"^[0-9]{14}$")


def _merchant(daraja: Daraja, app: App, body: Body) -> Shortcode:
    """The app's shortcode named by ``BusinessShortCode``, its password checked."""
    shortcode = body.digits("BusinessShortCode")
    code = daraja.registry.shortcode_of(app, shortcode)
    if code is None or code.kind == "b2c":
        raise DarajaError(MERCHANT)
    stamp = body.text("Timestamp")
    if not _TIMESTAMP.match(stamp):
        raise DarajaError.field("Timestamp")
    passkey = daraja.passkey(shortcode, code.passkey)
    as_sent = body.text("BusinessShortCode")
    if passkey is None or not password_matches(
        body.text("Password"), (as_sent, shortcode), passkey, stamp
    ):
        raise DarajaError(WRONG_CREDENTIALS)
    return code


@endpoint
async def push(request: HttpRequest) -> dict[str, Any]:
    """``POST /mpesa/stkpush/v1/processrequest``."""
    daraja = channel(request)
    app = authenticate(daraja, request, "stk", "stk")
    body = await Body.read(request)
    code = _merchant(daraja, app, body)
    kind = body.choice("TransactionType", (PAYBILL, BUY_GOODS))
    amount = body.amount("Amount")
    body.msisdn("PartyA")
    phone = body.msisdn("PhoneNumber")
    party_b = body.digits("PartyB")
    target = daraja.registry.shortcode_of(app, party_b)
    wanted = ("till",) if kind == BUY_GOODS else ("paybill", "b2c")
    if target is None or target.kind not in wanted:
        raise DarajaError.field("PartyB")
    callback_url = body.url("CallBackURL")
    account = body.text("AccountReference", required=kind == PAYBILL)
    description = body.text("TransactionDesc", required=False)
    if not await daraja.prompts.lock(phone):
        raise DarajaError(SUBSCRIBER_LOCKED)
    now = daraja.now()
    currency = daraja.profile(now).currency
    prompt = Prompt(
        checkout_id=ids.checkout_id(now),
        merchant_request_id=ids.merchant_request_id(),
        app_id=app.id,
        shortcode=code.shortcode,
        party_b=party_b,
        kind="till" if kind == BUY_GOODS else "paybill",
        msisdn=phone,
        amount=amount * currency.minor_per_major,
        account=account,
        description=description,
        callback_url=callback_url,
        business=business_name(daraja, party_b),
        created=now,
        expires=now + int(daraja.settings.daraja_stk_timeout_s * 1e9),
    )
    await daraja.prompts.push(prompt)
    return {
        "MerchantRequestID": prompt.merchant_request_id,
        "CheckoutRequestID": prompt.checkout_id,
        "ResponseCode": "0",
        "ResponseDescription": ACCEPTED,
        "CustomerMessage": ACCEPTED,
    }


@endpoint
async def query(request: HttpRequest) -> dict[str, Any]:
    """``POST /mpesa/stkpushquery/v1/query``: what became of a push, from its stored prompt."""
    daraja = channel(request)
    app = authenticate(daraja, request, "stk", "stk")
    body = await Body.read(request)
    code = _merchant(daraja, app, body)
    checkout_id = body.text("CheckoutRequestID", length_max=64)
    prompt = await daraja.prompts.find(checkout_id)
    if prompt is None or prompt.app_id != app.id or prompt.shortcode != code.shortcode:
        raise DarajaError.field("CheckoutRequestID")
    if prompt.open or prompt.result is None:
        raise DarajaError(PROCESSING, request_id=checkout_id)
    return {
        "ResponseCode": "0",
        "ResponseDescription": "The service request has been accepted successfully",
        "MerchantRequestID": prompt.merchant_request_id,
        "CheckoutRequestID": prompt.checkout_id,
        "ResultCode": prompt.result.code,
        "ResultDesc": prompt.result.description,
    }
