"""daraja-sdk-py 2.0.0, unmodified, against ``mkoba serve``: its 16 M-Pesa operations.

Pointed at the server as daraja.md §8 says (``daraja.environment.SANDBOX_BASE_URL``,
set before the client is made). Its response models are the strictest of the
SDKs (``ResponseCode`` must be a string, ``ReferenceItem`` an object, every
result parameter needs a ``Value``), and its callback models parse what mkoba
sends: ``STKCallbackPayload``, ``MpesaResult``, ``C2BValidationRequest``. Its
``MpesaResult`` cannot read B2B results, whose ``ReferenceItem`` is a list in
Daraja's own samples (daraja.md §5.6): those are read as plain JSON.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from daraja import Mpesa, environment
from daraja.models import C2BValidationRequest, MpesaResult, STKCallbackPayload
from daraja.services import AccountBalanceService

from mkoba.channels.daraja import ids
from tests.channels.serving import Served
from tests.compat.listener import Listener
from tests.compat.support import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    INITIATOR,
    PASSKEY,
    TEST_MSISDN,
    business_balances,
    customer_balance,
    receipt,
)


@pytest.fixture(scope="module")
def mpesa(server: Served) -> Iterator[Mpesa]:
    """daraja-sdk-py's client, its sandbox base URL pointed at the server."""
    original = environment.SANDBOX_BASE_URL
    environment.SANDBOX_BASE_URL = server.url
    client = Mpesa(
        {
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET,
            "environment": "sandbox",
            "passkey": PASSKEY,
            "initiator_name": INITIATOR,
            "security_credential": "bGVuaWVudA==",
        }
    )
    try:
        yield client
    finally:
        client.close()
        environment.SANDBOX_BASE_URL = original


def _parameters(result: MpesaResult) -> dict[str, Any]:
    assert result.Result.ResultParameters is not None
    return {item.Key: item.Value for item in result.Result.ResultParameters.ResultParameter}


def _urls(listener: Listener, path: str) -> dict[str, str]:
    return {"ResultURL": listener.url(path), "QueueTimeOutURL": listener.url(path + "/timeout")}


def test_stk_push_and_query(mpesa: Mpesa, server: Served, listener: Listener) -> None:
    """int shortcodes and MSISDNs in, string codes out; the callback parses as the SDK's model."""
    before = customer_balance(server.url)
    answer = mpesa.stk_push(
        {
            "BusinessShortCode": 174379,
            "TransactionType": "CustomerPayBillOnline",
            "Amount": 31,
            "PartyA": int(TEST_MSISDN),
            "PartyB": 174379,
            "PhoneNumber": int(TEST_MSISDN),
            "CallBackURL": listener.url("/sdkpy/stk"),
            "AccountReference": "ORDER-31",
            "TransactionDesc": "Order 31",
        }
    )
    assert answer.ResponseCode == "0"
    callback = STKCallbackPayload.model_validate(listener.wait("/sdkpy/stk")[0])
    detail = callback.Body.stkCallback
    assert (detail.CheckoutRequestID, detail.ResultCode) == (answer.CheckoutRequestID, 0)
    assert detail.CallbackMetadata is not None
    items = {item.Name: item.Value for item in detail.CallbackMetadata.Item}
    assert receipt(server, items["MpesaReceiptNumber"])["amount"] == 3100
    assert customer_balance(server.url) == before - 3100
    query = mpesa.stk_query(
        {"BusinessShortCode": "174379", "CheckoutRequestID": answer.CheckoutRequestID}
    )
    assert (query.ResultCode, query.CheckoutRequestID) == ("0", answer.CheckoutRequestID)


def test_c2b_v2_register_and_simulate(mpesa: Mpesa, server: Served, listener: Listener) -> None:
    """v2 register, a simulated payment, and a confirmation with a masked MSISDN."""
    registered = mpesa.c2b_service.register_url(
        {
            "ShortCode": "600997",
            "ResponseType": "Completed",
            "ConfirmationURL": listener.url("/sdkpy/c2b/confirm"),
            "ValidationURL": listener.url("/sdkpy/c2b/validate"),
        }
    )
    assert registered.ResponseCode == "0" and registered.OriginatorConversationID
    utility = business_balances(server.url, listener, "600997")["Utility Account"][0]
    simulated = mpesa.c2b_service.simulate(
        {
            "ShortCode": 600997,
            "CommandID": "CustomerPayBillOnline",
            "Amount": 64,
            "Msisdn": int(TEST_MSISDN),
            "BillRefNumber": "HOUSE-4",
        }
    )
    assert simulated.ResponseCode == "0"
    confirmation = C2BValidationRequest.model_validate(listener.wait("/sdkpy/c2b/confirm")[0])
    assert (confirmation.TransAmount, confirmation.BillRefNumber) == ("64.00", "HOUSE-4")
    assert confirmation.MSISDN == "25470****149"
    assert receipt(server, confirmation.TransID)["product"] == "pay_bill"
    after = business_balances(server.url, listener, "600997")["Utility Account"][0]
    assert after == utility + 6400


def test_b2c_and_b2pochi(mpesa: Mpesa, server: Served, listener: Listener) -> None:
    """Both pay the customer; both results parse as ``MpesaResult``."""
    before = customer_balance(server.url)
    paid = mpesa.b2c(
        {
            "OriginatorConversationID": f"sdkpy-{dt.datetime.now().timestamp()}",
            "CommandID": "SalaryPayment",
            "Amount": 130,
            "PartyA": 600000,
            "PartyB": int(TEST_MSISDN),
            "Remarks": "Salary",
            **_urls(listener, "/sdkpy/b2c"),
        }
    )
    assert paid.ResponseCode == "0"
    pochi = mpesa.b2pochi(
        {"Amount": 70, "PartyA": 600000, "PartyB": int(TEST_MSISDN), "Remarks": "Pochi"}
        | _urls(listener, "/sdkpy/pochi")
    )
    assert pochi.ResponseCode == "0"
    for path, amount in (("/sdkpy/b2c", 13000), ("/sdkpy/pochi", 7000)):
        result = MpesaResult.model_validate(listener.wait(path)[0])
        assert result.Result.ResultCode == 0
        assert _parameters(result)["TransactionReceipt"] == result.Result.TransactionID
        assert receipt(server, result.Result.TransactionID)["amount"] == amount
    assert customer_balance(server.url) == before + 20000


def test_b2b_buy_goods_pay_bill_top_up_and_tax(
    mpesa: Mpesa, server: Served, listener: Listener
) -> None:
    """Four payments from 600000's working account; results with a list of references."""
    working = business_balances(server.url, listener, "600000")["Working Account"][0]
    goods = mpesa.business_goods_service
    assert (
        goods.buy_goods(
            {"Amount": 110, "PartyA": 600000, "PartyB": 600100, "Remarks": "Goods"}
            | _urls(listener, "/sdkpy/bg")
        ).ResponseCode
        == "0"
    )
    assert (
        goods.pay_bill(
            {
                "Amount": 220,
                "PartyA": 600000,
                "PartyB": 174379,
                "AccountReference": "ACC-22",
                "Remarks": "Bill",
            }
            | _urls(listener, "/sdkpy/pb")
        ).ResponseCode
        == "0"
    )
    assert (
        mpesa.b2c_account_top_up_service.top_up(
            {
                "Amount": "330",
                "PartyA": "600000",
                "PartyB": "600610",
                "AccountReference": "TOPUP",
                "Remarks": "Top up",
            }
            | _urls(listener, "/sdkpy/topup")
        ).ResponseCode
        == "0"
    )
    assert (
        mpesa.tax_remittance_service.remit(
            {"Amount": "440", "PartyA": "600000", "AccountReference": "PRN-44", "Remarks": "Tax"}
            | _urls(listener, "/sdkpy/tax")
        ).ResponseCode
        == "0"
    )
    charged = 0
    for path, amount, product in (
        ("/sdkpy/bg", 11000, "b2b"),
        ("/sdkpy/pb", 22000, "b2b"),
        ("/sdkpy/topup", 33000, "b2b"),
        ("/sdkpy/tax", 44000, "tax_remittance"),
    ):
        result = listener.wait(path)[0]["Result"]
        assert (result["ResultCode"], result["ResultType"]) == ("0", "0")
        assert isinstance(result["ReferenceData"]["ReferenceItem"], list)
        stored = receipt(server, result["TransactionID"])
        assert (stored["amount"], stored["product"]) == (amount, product)
        charged += amount + stored["business_fee"]
    after = business_balances(server.url, listener, "600000")["Working Account"][0]
    assert after == working - charged


def test_balance_status_and_reversal(mpesa: Mpesa, server: Served, listener: Listener) -> None:
    """The balance string splits as the SDK splits it; status and reversal tell the truth."""
    assert (
        mpesa.account_balance_service.query(
            {"CommandID": "AccountBalance", "PartyA": 174379, "Remarks": "check"}
            | _urls(listener, "/sdkpy/balance")
        ).ResponseCode
        == "0"
    )
    parsed = AccountBalanceService.parse_callback(listener.wait("/sdkpy/balance")[0])
    assert parsed["success"] and parsed["balances"].utilityAccount is not None

    mpesa.stk_push(
        {
            "BusinessShortCode": 174379,
            "TransactionType": "CustomerPayBillOnline",
            "Amount": 88,
            "PartyA": int(TEST_MSISDN),
            "PartyB": 174379,
            "PhoneNumber": int(TEST_MSISDN),
            "CallBackURL": listener.url("/sdkpy/stk/to-reverse"),
            "AccountReference": "ORDER-88",
            "TransactionDesc": "Order 88",
        }
    )
    callback = STKCallbackPayload.model_validate(listener.wait("/sdkpy/stk/to-reverse")[0])
    assert callback.Body.stkCallback.CallbackMetadata is not None
    items = {i.Name: i.Value for i in callback.Body.stkCallback.CallbackMetadata.Item}
    number = str(items["MpesaReceiptNumber"])

    assert (
        mpesa.transaction_status_service.query(
            {
                "CommandID": "TransactionStatusQuery",
                "TransactionID": number,
                "PartyA": 174379,
                "Remarks": "check",
            }
            | _urls(listener, "/sdkpy/status")
        ).ResponseCode
        == "0"
    )
    status = MpesaResult.model_validate(listener.wait("/sdkpy/status")[0])
    assert _parameters(status)["TransactionStatus"] == "Completed"

    before = customer_balance(server.url)
    assert (
        mpesa.reversal(
            {
                "CommandID": "TransactionReversal",
                "TransactionID": number,
                "Amount": 88,
                "ReceiverParty": 174379,
                "Remarks": "Refund",
            }
            | _urls(listener, "/sdkpy/reversal")
        ).ResponseCode
        == "0"
    )
    reversal = MpesaResult.model_validate(listener.wait("/sdkpy/reversal")[0])
    assert _parameters(reversal)["OriginalTransactionID"] == number
    assert customer_balance(server.url) == before + 8800

    assert (
        mpesa.reversal(
            {
                "CommandID": "TransactionReversal",
                "TransactionID": number,
                "Amount": 88,
                "ReceiverParty": 174379,
                "Remarks": "Again",
            }
            | _urls(listener, "/sdkpy/reversal/again")
        ).ResponseCode
        == "0"
    )
    again = listener.wait("/sdkpy/reversal/again")[0]["Result"]
    assert again["ResultCode"] == "R000001"
    assert customer_balance(server.url) == before + 8800


def test_qr_and_pull(mpesa: Mpesa, server: Served, listener: Listener) -> None:
    """A QR code; pull register, then the shortcode's C2B payments of the last hour."""
    mpesa.stk_push(
        {
            "BusinessShortCode": 174379,
            "TransactionType": "CustomerPayBillOnline",
            "Amount": 77,
            "PartyA": int(TEST_MSISDN),
            "PartyB": 174379,
            "PhoneNumber": int(TEST_MSISDN),
            "CallBackURL": listener.url("/sdkpy/stk/to-pull"),
            "AccountReference": "ORDER-77",
            "TransactionDesc": "Order 77",
        }
    )
    listener.wait("/sdkpy/stk/to-pull")
    qr = mpesa.dynamic_qr(
        {"MerchantName": "Sandbox", "RefNo": "R1", "Amount": 10, "TrxCode": "PB", "CPI": "174379"}
    )
    assert qr.ResponseCode == "00" and qr.QRCode
    pull = mpesa.pull_transactions_service
    registered = pull.register(
        {
            "ShortCode": "174379",
            "NominatedNumber": TEST_MSISDN,
            "CallBackURL": listener.url("/sdkpy/pull"),
        }
    )
    assert registered.ResponseStatus in ("1000", "1001")
    now = ids.now_eat(int(dt.datetime.now(dt.UTC).timestamp() * 1e9))
    found = pull.query(
        {
            "ShortCode": "174379",
            "StartDate": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
            "EndDate": (now + dt.timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S"),
            "OffSetValue": "0",
        }
    )
    assert found.ResponseCode == "1000"
    (page,) = found.Response
    assert "ORDER-77" in [item.billreference for item in page]
    assert all(item.msisdn == int(TEST_MSISDN) for item in page)
    for item in page:
        stored = receipt(server, item.transactionId)
        assert stored["status"] == "completed"
        assert item.amount == f"{stored['amount'] // 100}.{stored['amount'] % 100:02d}"
