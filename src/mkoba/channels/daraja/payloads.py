"""The bodies Daraja POSTs to businesses: STK callbacks, C2B payloads, results, timeouts.

Shapes and types follow daraja.md §5 and §6: the STK ``ResultCode`` is a
number, C2B fields are all strings (every key present, ``""`` when empty),
``Result`` envelopes carry numbers or strings as the docs' samples do, and
every ``ResultParameter`` has a ``Value``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mkoba.channels.daraja import ids
from mkoba.channels.daraja.codes import Result
from mkoba.channels.daraja.envelope import Num, json_text, major, major_text
from mkoba.processor.services import Renderer


def stk_success(
    merchant_request_id: str,
    checkout_id: str,
    amount_minor: int,
    receipt: str,
    when_ns: int,
    msisdn: str,
) -> dict[str, Any]:
    """The ``stkCallback`` of a completed payment, with its metadata items."""
    items = [
        {"Name": "Amount", "Value": major(amount_minor)},
        {"Name": "MpesaReceiptNumber", "Value": receipt},
        {"Name": "Balance"},
        {"Name": "TransactionDate", "Value": Num(ids.timestamp(when_ns))},
        {"Name": "PhoneNumber", "Value": Num(msisdn)},
    ]
    callback = {
        "MerchantRequestID": merchant_request_id,
        "CheckoutRequestID": checkout_id,
        "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": items},
    }
    return {"Body": {"stkCallback": callback}}


def stk_failure(merchant_request_id: str, checkout_id: str, result: Result) -> dict[str, Any]:
    """The ``stkCallback`` of a payment that did not happen: no metadata."""
    assert not result.ok
    code: Any = Num(result.code) if result.code.isdigit() else result.code
    callback = {
        "MerchantRequestID": merchant_request_id,
        "CheckoutRequestID": checkout_id,
        "ResultCode": code,
        "ResultDesc": result.description,
    }
    return {"Body": {"stkCallback": callback}}


def c2b(
    params: Mapping[str, str],
    receipt: str,
    when_ns: int,
    balance_minor: int | None,
) -> dict[str, Any]:
    """A C2B validation (no balance yet) or confirmation payload; every field a string."""
    return {
        "TransactionType": params["transaction_type"],
        "TransID": receipt,
        "TransTime": ids.timestamp(when_ns),
        "TransAmount": major_text(int(params["amount_minor"])),
        "BusinessShortCode": params["shortcode"],
        "BillRefNumber": params.get("bill_ref", ""),
        "InvoiceNumber": "",
        "OrgAccountBalance": "" if balance_minor is None else major_text(balance_minor),
        "ThirdPartyTransID": params.get("third_party", ""),
        "MSISDN": params["msisdn"],
        "FirstName": params.get("first_name", ""),
        "MiddleName": params.get("middle_name", ""),
        "LastName": params.get("last_name", ""),
    }


Parameter = tuple[str, Any]


def result(
    result_code: Result,
    originator_id: str,
    conversation_id: str,
    transaction_id: str,
    parameters: Sequence[Parameter] | None,
    references: Sequence[Parameter],
    *,
    strings: bool = False,
    code_string: bool = False,
    reference_list: bool = False,
) -> dict[str, Any]:
    """A ``{"Result": ...}`` envelope (B2C, B2B, balance, status, reversal, tax).

    ``strings`` writes ``ResultType`` and ``ResultCode`` as strings (balance and
    B2B samples), ``code_string`` only ``ResultCode`` (reversal: its failure codes
    are alphanumeric); ``reference_list`` writes ``ReferenceItem`` as a list (B2B,
    top-up).
    """
    code: Any = result_code.code
    if not (strings or code_string) and code.isdigit():
        code = Num(code)
    body: dict[str, Any] = {
        "ResultType": "0" if strings else 0,
        "ResultCode": code,
        "ResultDesc": result_code.description,
        "OriginatorConversationID": originator_id,
        "ConversationID": conversation_id,
        "TransactionID": transaction_id,
    }
    if parameters:
        body["ResultParameters"] = {
            "ResultParameter": [{"Key": key, "Value": value} for key, value in parameters]
        }
    items = [{"Key": key, "Value": value} for key, value in references]
    if items:
        body["ReferenceData"] = {"ReferenceItem": items if reference_list else items[0]}
    return {"Result": body}


def queue_timeout(originator_id: str, conversation_id: str, when_ns: int) -> dict[str, Any]:
    """What the ``QueueTimeOutURL`` receives: the request could not be processed in time."""
    return {
        "Result": {
            "ResultType": 1,
            "ResultCode": 1,
            "ResultDesc": "The service request timed out.",
            "OriginatorConversationID": originator_id,
            "ConversationID": conversation_id,
            "TransactionID": ids.null_receipt(when_ns),
        }
    }


# Templates rendered in the commit that moves the money (see confirmation.py).
STK_TEMPLATE = "daraja.stk_callback"
C2B_TEMPLATE = "daraja.c2b_confirmation"


def _render_stk(params: Mapping[str, str]) -> str:
    return json_text(
        stk_success(
            params["merchant_request_id"],
            params["checkout_id"],
            int(params["amount_minor"]),
            params["receipt"],
            int(params["timestamp"]),
            params["msisdn"],
        )
    )


def _render_c2b(params: Mapping[str, str]) -> str:
    balance = params.get("balance_minor")
    return json_text(
        c2b(
            params,
            params["receipt"],
            int(params["timestamp"]),
            int(balance) if balance is not None else None,
        )
    )


# The channel's callback bodies, by template id: the composition root hands them to
# TranProc, which renders a payment's callbacks in the commit that moves the money.
RENDERERS: Mapping[str, Renderer] = {STK_TEMPLATE: _render_stk, C2B_TEMPLATE: _render_c2b}
