"""daraja-v3 0.2.1, unmodified, against ``mkoba serve``: STK push and query, B2C, C2B, balance.

Pointed at the server through its own ``base_url`` argument (http is allowed for
localhost). Its ``parse_stk_callback`` reads the callback mkoba sends.
"""

from __future__ import annotations

import time

import pytest
from mpesa import MpesaClient
from mpesa.exceptions import MpesaError

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
def client(server: Served) -> MpesaClient:
    """daraja-v3's client on the sandbox paybill, with the server as its base URL."""
    return MpesaClient(
        CONSUMER_KEY, CONSUMER_SECRET, shortcode="174379", passkey=PASSKEY, base_url=server.url
    )


def test_stk_push_query_and_callback(
    client: MpesaClient, server: Served, listener: Listener
) -> None:
    """The push, the callback through ``parse_stk_callback``, the query: one story."""
    before = customer_balance(server.url)
    pushed = client.stk_push(
        phone="0708374149",
        amount=19,
        reference="V3-19",
        description="Coffee",
        callback_url=listener.url("/v3/stk"),
    )
    assert pushed.checkout_request_id.startswith("ws_CO_")
    parsed = MpesaClient.parse_stk_callback(listener.wait("/v3/stk")[0])
    assert parsed["paid"] and parsed["checkout_request_id"] == pushed.checkout_request_id
    assert (parsed["amount"], parsed["phone"]) == (19.0, TEST_MSISDN)
    assert receipt(server, parsed["mpesa_receipt"])["amount"] == 1900
    assert customer_balance(server.url) == before - 1900
    queried = client.stk_query(pushed.checkout_request_id)
    assert (queried.is_paid, queried.checkout_request_id) == (True, pushed.checkout_request_id)


def test_wrong_pin_is_2001_and_moves_nothing(
    client: MpesaClient, server: Served, listener: Listener
) -> None:
    """KES 2001 is the sandbox's "customer types a wrong PIN": TranProc checks it and says no."""
    before = customer_balance(server.url)
    pushed = client.stk_push(
        phone=TEST_MSISDN, amount=2001, reference="V3-2001", callback_url=listener.url("/v3/pin")
    )
    parsed = MpesaClient.parse_stk_callback(listener.wait("/v3/pin")[0])
    assert (parsed["paid"], parsed["result_code"]) == (False, "2001")
    assert client.stk_query(pushed.checkout_request_id).result_code == "2001"
    assert customer_balance(server.url) == before


def test_b2c_register_and_balance(client: MpesaClient, server: Served, listener: Listener) -> None:
    """B2C from the paybill's utility account; C2B v1 register; the balance after."""
    utility = business_balances(server.url, listener, "174379")["Utility Account"][0]
    paid = client.b2c(
        phone=TEST_MSISDN,
        amount=90,
        remarks="Refund",
        callback_url=listener.url("/v3/b2c"),
        queue_timeout_url=listener.url("/v3/b2c/timeout"),
        initiator_name=INITIATOR,
        security_credential="bGVuaWVudA==",
    )
    assert paid.conversation_id.startswith("AG_")
    (result,) = listener.wait("/v3/b2c")
    assert result["Result"]["OriginatorConversationID"] == paid.originator_conversation_id
    stored = receipt(server, result["Result"]["TransactionID"])
    registered = client.c2b_register_urls(
        validation_url=listener.url("/v3/validate"), confirmation_url=listener.url("/v3/confirm")
    )
    assert registered["ResponseCode"] == "0"
    client.account_balance(
        callback_url=listener.url("/v3/balance"),
        queue_timeout_url=listener.url("/v3/balance/timeout"),
        initiator_name=INITIATOR,
        security_credential="bGVuaWVudA==",
    )
    (balance,) = listener.wait("/v3/balance")
    parameters = {
        p["Key"]: p["Value"] for p in balance["Result"]["ResultParameters"]["ResultParameter"]
    }
    after = utility - 9000 - stored["business_fee"]
    shown = f"Utility Account|KES|{after // 100}.{after % 100:02d}"
    assert shown in parameters["AccountBalance"]


def test_unknown_initiator_gets_2001_by_callback(client: MpesaClient, listener: Listener) -> None:
    """Daraja accepts the request, then answers 2001 by result: so does mkoba."""
    # daraja-v3 names a B2C "b2c-<unix second>": a second one in the same second would be a
    # duplicate OriginatorConversationID (500.002.1001), on Daraja and here.
    time.sleep(1.0 - time.time() % 1.0 + 0.01)
    paid = client.b2c(
        phone=TEST_MSISDN,
        amount=10,
        callback_url=listener.url("/v3/b2c/nobody"),
        queue_timeout_url=listener.url("/v3/b2c/nobody/timeout"),
        initiator_name="nobody",
        security_credential="x",
    )
    (result,) = listener.wait("/v3/b2c/nobody")
    assert result["Result"]["ResultCode"] == 2001
    assert result["Result"]["ConversationID"] == paid.conversation_id


def test_bad_token_is_an_api_error(server: Served) -> None:
    """A token mkoba never issued: the SDK raises with Daraja's code."""
    stranger = MpesaClient(
        CONSUMER_KEY, CONSUMER_SECRET, shortcode="174379", passkey=PASSKEY, base_url=server.url
    )
    stranger._auth._cache.access_token = "A" * 28
    stranger._auth._cache.expires_at = 1e12
    with pytest.raises(MpesaError) as raised:
        stranger.stk_query("ws_CO_000")
    assert raised.value.code == "404.001.03"
