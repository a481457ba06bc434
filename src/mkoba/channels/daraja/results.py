"""The ``Result`` a business receives for each kind of request, from TranProc's response.

One builder per kind, each following its doc sample (daraja.md §5.5–5.10):
B2C and reversal results carry numbers; B2B, top-up, tax and balance results
carry strings and B2B's ``ReferenceItem`` is a list; every parameter has a
``Value``. A failure carries no parameters and a ``TransactionID`` of date
letters and zeros.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from mkoba.channels.daraja import ids, payloads
from mkoba.channels.daraja.codes import Result, described, for_business
from mkoba.channels.daraja.envelope import major, major_text
from mkoba.processor.request import Response


class Facts(NamedTuple):
    """What a result needs beyond the response: when, in what money, and some balances."""

    now: int
    currency: str
    # Posted and available balance of the B2C payer's accounts after the payment (minor).
    utility: int = 0
    working: int = 0
    # The Daraja ids of the request a status query found (when Daraja made it).
    found_originator: str = ""
    found_conversation: str = ""


class Conversation(NamedTuple):
    """The parts of a conversation a result names."""

    kind: str
    originator_id: str
    conversation_id: str
    timeout_url: str
    params: Mapping[str, str]


Builder = Callable[[Conversation, Response, Facts], dict[str, Any]]


def completed_at(now: int) -> str:
    """B2C's ``TransactionCompletedDateTime``: ``DD.MM.YYYY HH:mm:ss``."""
    return ids.now_eat(now).strftime("%d.%m.%Y %H:%M:%S")


def outcome(response: Response) -> Result:
    """The Daraja result code of a business request's response."""
    reason = str(response.data.get("reason", "")) if not response.ok else ""
    return for_business(response.code, reason)


def _failure(
    conv: Conversation, result: Result, facts: Facts, *, strings: bool, code_string: bool = False
) -> dict[str, Any]:
    references = [("QueueTimeoutURL", conv.timeout_url)]
    return payloads.result(
        result,
        conv.originator_id,
        conv.conversation_id,
        ids.null_receipt(facts.now),
        None,
        references,
        strings=strings,
        code_string=code_string,
    )


def b2c(conv: Conversation, response: Response, facts: Facts) -> dict[str, Any]:
    """A B2C or B2Pochi result."""
    result = outcome(response)
    if not result.ok:
        return _failure(conv, result, facts, strings=False)
    data = response.data
    parameters = [
        ("TransactionAmount", major(int(data["amount"]))),
        ("TransactionReceipt", response.receipt or ""),
        ("B2CRecipientIsRegisteredCustomer", str(data.get("registered", "Y"))),
        ("B2CChargesPaidAccountAvailableFunds", major(0)),
        ("ReceiverPartyPublicName", str(data.get("recipient", ""))),
        ("TransactionCompletedDateTime", completed_at(facts.now)),
        ("B2CUtilityAccountAvailableFunds", major(facts.utility)),
        ("B2CWorkingAccountAvailableFunds", major(facts.working)),
    ]
    return payloads.result(
        result,
        conv.originator_id,
        conv.conversation_id,
        response.receipt or "",
        parameters,
        [("QueueTimeoutURL", conv.timeout_url)],
    )


def _amount_block(minor: int, currency: str) -> str:
    """B2B's odd balance text: ``{Amount={CurrencyCode=KES, MinimumAmount=, BasicAmount=}}``."""
    return (
        f"{{Amount={{CurrencyCode={currency}, MinimumAmount={minor},"
        f" BasicAmount={major_text(minor)}}}}}"
    )


def b2b(conv: Conversation, response: Response, facts: Facts) -> dict[str, Any]:
    """A B2B, top-up or tax result (strings, ``ReferenceItem`` a list)."""
    result = outcome(response)
    stamp = ids.timestamp(facts.now)
    if not result.ok:
        body = payloads.result(
            result,
            conv.originator_id,
            conv.conversation_id,
            ids.null_receipt(facts.now),
            [("BOCompletedTime", stamp)],
            [("QueueTimeoutURL", conv.timeout_url)],
            strings=True,
            reference_list=True,
        )
        # The failure sample carries its one parameter as an object, not a list.
        body["Result"]["ResultParameters"]["ResultParameter"] = {
            "Key": "BOCompletedTime",
            "Value": stamp,
        }
        return body
    data = response.data
    available = int(data.get("balance", 0))
    fee = int(data.get("fee", 0))
    charges = f"{data.get('reason', 'Business Payment')} Charge|{facts.currency}|{major_text(fee)}"
    parameters = [
        ("DebitAccountBalance", _amount_block(available, facts.currency)),
        ("Amount", major_text(int(data["amount"]))),
        (
            "DebitPartyAffectedAccountBalance",
            f"Working Account|{facts.currency}|{major_text(facts.working)}"
            f"|{major_text(available)}|{major_text(facts.working - available)}|0.00",
        ),
        ("TransCompletedTime", stamp),
        ("DebitPartyCharges", charges if fee else ""),
        ("ReceiverPartyPublicName", str(data.get("receiver", ""))),
        ("Currency", facts.currency),
        ("InitiatorAccountCurrentBalance", _amount_block(available, facts.currency)),
    ]
    references = [("QueueTimeoutURL", conv.timeout_url)]
    reference = str(data.get("reference", ""))
    if reference:
        references.insert(0, ("BillReferenceNumber", reference))
    return payloads.result(
        result,
        conv.originator_id,
        conv.conversation_id,
        response.receipt or "",
        parameters,
        references,
        strings=True,
        reference_list=True,
    )


def balance_string(accounts: list[list[Any]], currency: str) -> str:
    """``Name|KES|current|available|reserved|uncleared`` per account, joined by ``&``."""
    return "&".join(
        f"{name}|{currency}|{major_text(int(current))}|{major_text(int(available))}"
        f"|{major_text(int(reserved))}|{major_text(int(uncleared))}"
        for name, current, available, reserved, uncleared in accounts
    )


def balance(conv: Conversation, response: Response, facts: Facts) -> dict[str, Any]:
    """An account balance result (strings)."""
    result = outcome(response)
    if not result.ok:
        return _failure(conv, result, facts, strings=True)
    accounts = response.data.get("accounts", [])
    currency = str(response.data.get("currency", facts.currency))
    parameters = [
        ("AccountBalance", balance_string(accounts, currency)),
        ("BOCompletedTime", ids.timestamp(facts.now)),
    ]
    return payloads.result(
        result,
        conv.originator_id,
        conv.conversation_id,
        ids.null_receipt(facts.now),
        parameters,
        [("QueueTimeoutURL", conv.timeout_url)],
        strings=True,
    )


def status(conv: Conversation, response: Response, facts: Facts) -> dict[str, Any]:
    """A transaction status result."""
    result = outcome(response)
    if not result.ok:
        return _failure(conv, result, facts, strings=False)
    data = response.data
    charges = int(data.get("charges", 0))
    parameters = [
        ("DebitPartyName", str(data.get("debit_party", ""))),
        ("CreditPartyName", str(data.get("credit_party", ""))),
        ("OriginatorConversationID", facts.found_originator),
        ("InitiatedTime", ids.timestamp(int(data["initiated"]))),
        ("DebitAccountType", str(data.get("debit_account_type", ""))),
        (
            "DebitPartyCharges",
            f"Fee For {data.get('reason_type', '')}|{facts.currency}|{major_text(charges)}"
            if charges
            else "",
        ),
        ("TransactionReason", ""),
        ("ReasonType", str(data.get("reason_type", ""))),
        ("TransactionStatus", str(data.get("status", ""))),
        ("FinalisedTime", ids.timestamp(int(data["finalised"]))),
        ("Amount", major(int(data["amount"]))),
        ("ConversationID", facts.found_conversation),
        ("ReceiptNo", str(data.get("receipt", ""))),
    ]
    return payloads.result(
        result,
        conv.originator_id,
        conv.conversation_id,
        ids.null_receipt(facts.now),
        parameters,
        [("Occasion", conv.params.get("occasion", ""))],
    )


def reversal(conv: Conversation, response: Response, facts: Facts) -> dict[str, Any]:
    """A reversal result: its code and values are strings (failures are ``R000001``...)."""
    result = outcome(response)
    if not result.ok:
        return _failure(conv, result, facts, strings=False, code_string=True)
    data = response.data
    available = major_text(int(data.get("balance", 0)))
    parameters = [
        (
            "DebitAccountBalance",
            f"Utility Account|{facts.currency}|{available}|{available}|0.00|0.00",
        ),
        ("Amount", major_text(int(data["amount"]))),
        ("TransCompletedTime", ids.timestamp(facts.now)),
        ("OriginalTransactionID", str(data.get("original", ""))),
        ("Charge", major_text(int(data.get("charge", 0)))),
        ("CreditPartyPublicName", str(data.get("credit_party", ""))),
        ("DebitPartyPublicName", str(data.get("debit_party", ""))),
    ]
    return payloads.result(
        result,
        conv.originator_id,
        conv.conversation_id,
        response.receipt or "",
        parameters,
        [("QueueTimeoutURL", conv.timeout_url)],
        code_string=True,
    )


def refused(conv: Conversation, result: Result, facts: Facts) -> dict[str, Any]:
    """A result for a request the channel itself turned down (initiator, credential)."""
    strings = conv.kind in ("b2b", "tax", "balance")
    return _failure(conv, result, facts, strings=strings, code_string=conv.kind == "reversal")


BUILDERS: dict[str, Builder] = {
    "b2c": b2c,
    "b2pochi": b2c,
    "b2b": b2b,
    "tax": b2b,
    "balance": balance,
    "status": status,
    "reversal": reversal,
}

INITIATOR_INVALID = described("2001")
INITIATOR_NOT_ALLOWED = described("21")
