"""mpesakit 2.2.0, unmodified, against ``mkoba serve``: its 10 M-Pesa operations that mkoba serves.

Pointed at the server as daraja.md §8 says (``client.http_client.base_url``).
Each test checks that the SDK parsed the answer, that the money moved (or did
not) in the ledger as the business would see it, that the callback reached the
listener, and that mpesakit's own callback parser accepts it. mpesakit's B2C
and transaction-status parsers expect a shape Daraja does not send (daraja.md
§5.5), so those two results are read as plain JSON here.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from mpesakit import MpesaClient
from mpesakit.b2c import B2CCommandIDType
from mpesakit.b2c_account_top_up.schemas import B2CAccountTopUpCallback
from mpesakit.business_buy_goods.schemas import BusinessBuyGoodsResultCallback
from mpesakit.business_paybill.schemas import BusinessPayBillResultCallback
from mpesakit.c2b.schemas import C2BValidationRequest
from mpesakit.errors import MpesaApiException

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

CREDENTIAL = base64.b64encode(b"lenient mode takes any credential").decode()


@pytest.fixture(scope="module")
def client(server: Served) -> Iterator[MpesaClient]:
    """mpesakit's client, its base URL pointed at the server."""
    made = MpesaClient(CONSUMER_KEY, CONSUMER_SECRET, environment="sandbox")
    made.http_client.base_url = server.url
    yield made
    made.http_client.close()


def _stk(client: MpesaClient, listener: Listener, amount: int, path: str) -> tuple[Any, Any]:
    """Push ``amount`` to the test MSISDN; the SDK's answer and its parse of the callback."""
    answer = client.stk_push(
        business_short_code=174379,
        transaction_type="CustomerPayBillOnline",
        amount=amount,
        party_a=TEST_MSISDN,
        party_b="174379",
        phone_number=TEST_MSISDN,
        callback_url=listener.url(path),
        account_reference="INV-1",
        transaction_desc="Test",
        passkey=PASSKEY,
    )
    assert answer.is_successful()
    (body,) = listener.wait(path)
    callback = client.process_stk_callback(body)
    assert callback.Body.stkCallback.CheckoutRequestID == answer.CheckoutRequestID
    return answer, callback


def test_stk_push_moves_the_money_and_reports_the_receipt(
    client: MpesaClient, server: Served, listener: Listener
) -> None:
    """Push, auto-approve, callback with the real receipt; the query says the same."""
    before = customer_balance(server.url)
    paybill = business_balances(server.url, listener, "174379")["Utility Account"][0]
    answer, callback = _stk(client, listener, 42, "/kit/stk/ok")
    assert callback.is_successful
    number = callback.mpesa_receipt_number
    assert callback.amount == 42.0
    assert callback.phone_number == TEST_MSISDN
    stored = receipt(server, number)
    assert (stored["product"], stored["status"], stored["amount"]) == (
        "pay_bill",
        "completed",
        4200,
    )
    assert customer_balance(server.url) == before - 4200 - stored["fee"]
    after = business_balances(server.url, listener, "174379")["Utility Account"][0]
    assert after == paybill + 4200
    query = client.stk_query(
        business_short_code=174379,
        checkout_request_id=answer.CheckoutRequestID,
        passkey=PASSKEY,
    )
    assert (str(query.ResultCode), query.is_successful()) == ("0", True)


def test_a_cancelled_push_moves_nothing(
    client: MpesaClient, server: Served, listener: Listener
) -> None:
    """KES 1032 is the sandbox's "customer cancels": ResultCode 1032, no metadata, no money."""
    before = customer_balance(server.url)
    answer, callback = _stk(client, listener, 1032, "/kit/stk/cancel")
    assert str(callback.Body.stkCallback.ResultCode) == "1032"
    assert callback.Body.stkCallback.CallbackMetadata is None
    assert customer_balance(server.url) == before
    query = client.stk_query(
        business_short_code=174379,
        checkout_request_id=answer.CheckoutRequestID,
        passkey=PASSKEY,
    )
    assert query.ResultCode == "1032"


def test_c2b_register_then_a_payment_is_confirmed(
    client: MpesaClient, server: Served, listener: Listener
) -> None:
    """Registered URLs receive the confirmation of a payment, with the new balance."""
    answer = client.c2b.register_url(
        short_code=600984,
        response_type="Completed",
        confirmation_url=listener.url("/kit/c2b/confirm"),
        validation_url=listener.url("/kit/c2b/validate"),
    )
    assert answer.is_successful() and answer.OriginatorConversationID
    # mpesakit has no simulate: the test customer pays from the "phone" instead (B2B here
    # would not be a customer). daraja-sdk-py's suite covers simulate itself.
    token = client.token_manager.get_token()
    response = client.http_client.post(
        "/mpesa/c2b/v1/simulate",
        json={
            "ShortCode": 600984,
            "CommandID": "CustomerPayBillOnline",
            "Amount": 75,
            "Msisdn": TEST_MSISDN,
            "BillRefNumber": "ACC-9",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response["ResponseCode"] == "0"
    (body,) = listener.wait("/kit/c2b/confirm")
    confirmation = C2BValidationRequest.model_validate(body)
    assert (confirmation.TransAmount, confirmation.BillRefNumber) == (75.0, "ACC-9")
    assert confirmation.BusinessShortCode == 600984
    assert receipt(server, confirmation.TransID)["status"] == "completed"
    utility = business_balances(server.url, listener, "600984")["Utility Account"][0]
    assert body["OrgAccountBalance"] == f"{utility // 100}.{utility % 100:02d}"
    assert listener.bodies("/kit/c2b/validate") == []  # external validation is off


def test_b2c_pays_the_customer_from_the_utility_account(
    client: MpesaClient, server: Served, listener: Listener
) -> None:
    """B2C v3: the customer is paid; the result names the receipt and the new balances."""
    before = customer_balance(server.url)
    utility = business_balances(server.url, listener, "600000")["Utility Account"][0]
    answer = client.b2c.send_payment(
        originator_conversation_id="mpesakit-b2c-1",
        initiator_name=INITIATOR,
        security_credential=CREDENTIAL,
        command_id=B2CCommandIDType.BusinessPayment,
        amount=250,
        party_a="600000",
        party_b=TEST_MSISDN,
        remarks="Refund",
        queue_timeout_url=listener.url("/kit/b2c/timeout"),
        result_url=listener.url("/kit/b2c/result"),
        occasion="test",
    )
    assert answer.is_successful() and answer.OriginatorConversationID == "mpesakit-b2c-1"
    (body,) = listener.wait("/kit/b2c/result")
    result = body["Result"]
    assert (result["ResultCode"], result["ConversationID"]) == (0, answer.ConversationID)
    parameters = {p["Key"]: p["Value"] for p in result["ResultParameters"]["ResultParameter"]}
    assert parameters["TransactionReceipt"] == result["TransactionID"]
    stored = receipt(server, result["TransactionID"])
    assert (stored["product"], stored["amount"]) == ("b2c", 25000)
    assert customer_balance(server.url) == before + 25000
    after = business_balances(server.url, listener, "600000")["Utility Account"][0]
    assert after == utility - 25000 - stored["business_fee"]
    assert round(parameters["B2CUtilityAccountAvailableFunds"] * 100) == after


def test_b2b_paybill_buy_goods_and_top_up_move_float(
    client: MpesaClient, server: Served, listener: Listener
) -> None:
    """Three B2B commands, each parsed by mpesakit's own result model."""
    payer = business_balances(server.url, listener, "600000")["Working Account"][0]
    paybill = business_balances(server.url, listener, "174379")["Utility Account"][0]
    common = {
        "initiator": INITIATOR,
        "security_credential": CREDENTIAL,
        "requester": TEST_MSISDN,
        "remarks": "Stock",
    }
    client.b2b.paybill(
        amount=300,
        party_a=600000,
        party_b=174379,
        account_reference="ACC-1",
        queue_timeout_url=listener.url("/kit/b2b/pb/timeout"),
        result_url=listener.url("/kit/b2b/pb"),
        **common,
    )
    client.b2b.buygoods(
        amount=200,
        party_a=600000,
        party_b=600100,
        account_reference="",
        queue_timeout_url=listener.url("/kit/b2b/bg/timeout"),
        result_url=listener.url("/kit/b2b/bg"),
        **common,
    )
    client.b2c.account_topup(
        amount=500,
        party_a="600000",
        party_b="600996",
        account_reference="TOPUP",
        queue_timeout_url=listener.url("/kit/b2b/topup/timeout"),
        result_url=listener.url("/kit/b2b/topup"),
        **common,
    )
    paid = BusinessPayBillResultCallback.model_validate(listener.wait("/kit/b2b/pb")[0])
    bought = BusinessBuyGoodsResultCallback.model_validate(listener.wait("/kit/b2b/bg")[0])
    topped = B2CAccountTopUpCallback.model_validate(listener.wait("/kit/b2b/topup")[0])
    fees = 0
    for result, amount in ((paid, 30000), (bought, 20000), (topped, 50000)):
        assert str(result.Result.ResultCode) == "0"
        stored = receipt(server, str(result.Result.TransactionID))
        assert (stored["product"], stored["amount"]) == ("b2b", amount)
        fees += stored["business_fee"]
    after = business_balances(server.url, listener, "600000")["Working Account"][0]
    assert after == payer - 100000 - fees
    assert (
        business_balances(server.url, listener, "174379")["Utility Account"][0] == paybill + 30000
    )


def test_tax_balance_status_and_reversal(
    client: MpesaClient, server: Served, listener: Listener
) -> None:
    """Tax to KRA, then a balance, a status query and a reversal of an STK payment."""
    tax = client.tax.remittance(
        initiator=INITIATOR,
        security_credential=CREDENTIAL,
        amount=120,
        party_a=600000,
        remarks="VAT",
        account_reference="PRN0001",
        result_url=listener.url("/kit/tax"),
        queue_timeout_url=listener.url("/kit/tax/timeout"),
    )
    assert tax.is_successful()
    remitted = client.process_tax_remittance_callback(listener.wait("/kit/tax")[0])
    assert receipt(server, str(remitted.Result.TransactionID))["reference"] == "PRN0001"

    client.balance.query(
        initiator=INITIATOR,
        security_credential=CREDENTIAL,
        command_id="AccountBalance",
        party_a=600000,
        identifier_type=4,
        remarks="check",
        result_url=listener.url("/kit/balance"),
        queue_timeout_url=listener.url("/kit/balance/timeout"),
    )
    balance = client.process_account_balance_callback(listener.wait("/kit/balance")[0])
    assert balance.Result.ResultCode == "0"

    _, paid = _stk(client, listener, 55, "/kit/stk/to-reverse")
    number = str(paid.mpesa_receipt_number)
    client.transactions.query_status(
        initiator=INITIATOR,
        security_credential=CREDENTIAL,
        transaction_id=number,
        party_a=174379,
        identifier_type=4,
        result_url=listener.url("/kit/status"),
        queue_timeout_url=listener.url("/kit/status/timeout"),
        remarks="check",
        occasion="x",
    )
    status = listener.wait("/kit/status")[0]["Result"]
    parameters = {p["Key"]: p["Value"] for p in status["ResultParameters"]["ResultParameter"]}
    assert (parameters["ReceiptNo"], parameters["TransactionStatus"]) == (number, "Completed")

    before = customer_balance(server.url)
    client.reversal.reverse(
        initiator=INITIATOR,
        security_credential=CREDENTIAL,
        transaction_id=number,
        amount=55,
        receiver_party=174379,
        result_url=listener.url("/kit/reversal"),
        queue_timeout_url=listener.url("/kit/reversal/timeout"),
        remarks="Refund",
        occasion="x",
    )
    reversed_ = client.process_reversal_callback(listener.wait("/kit/reversal")[0])
    assert reversed_.Result.ResultCode == "0"
    assert customer_balance(server.url) == before + 5500
    assert receipt(server, str(reversed_.Result.TransactionID))["reference"] == number


def test_dynamic_qr_is_a_png(client: MpesaClient) -> None:
    """A QR code for a till, as a base64 PNG."""
    answer = client.dynamic_qr.generate(
        merchant_name="Sandbox Test Till",
        ref_no="INV-7",
        amount=150,
        trx_code="BG",
        cpi="600100",
        size="300",
    )
    assert answer.is_successful()
    assert base64.b64decode(answer.QRCode).startswith(b"\x89PNG\r\n\x1a\n")


def test_wrong_credentials_are_refused(server: Served) -> None:
    """A wrong consumer secret gets no token (HTTP 400)."""
    stranger = MpesaClient(CONSUMER_KEY, "not-the-secret")
    stranger.http_client.base_url = server.url
    with pytest.raises(MpesaApiException) as raised:
        stranger.token_manager.get_token()
    assert raised.value.error.status_code == 400
