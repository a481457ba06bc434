"""TranProc's result codes as Daraja's asynchronous ``ResultCode`` values.

Each API family has its own table (daraja.md §4.3). A channel only translates:
the outcome is TranProc's, the number is Daraja's.
"""

from __future__ import annotations

from typing import NamedTuple

from mkoba.codes import Code


class Result(NamedTuple):
    """A Daraja result: its code (digits, or alphanumeric such as ``R000002``) and text."""

    code: str
    description: str

    @property
    def ok(self) -> bool:
        """Whether it reports success."""
        return self.code == "0"


DESCRIPTIONS = {
    "0": "The service request is processed successfully.",
    "1": "The balance is insufficient for the transaction.",
    "2": "Declined due to limit rule: less than the minimum transaction amount.",
    "3": "Declined due to limit rule: greater than the maximum transaction amount.",
    "4": "Declined due to limit rule: would exceed daily transfer limit.",
    "8": "Declined due to limit rule: would exceed the maximum balance.",
    "11": "The DebitParty is in an invalid state.",
    "17": "System internal error.",
    "21": "The initiator is not allowed to initiate this request.",
    "26": "System busy. The service request is rejected.",
    "1019": "Transaction has expired.",
    "1025": "An error occurred while sending a push request.",
    "1032": "Request cancelled by user.",
    "1037": "DS timeout user cannot be reached.",
    "2001": "The initiator information is invalid.",
    "2006": "Declined due to account rule: The account status does not allow this transaction.",
    "2028": "The request is not permitted according to product assignment.",
    "2040": "Credit Party customer type (Unregistered or Registered Customer) can't be"
    " supported by the service.",
    "8006": "The security credential is locked.",
    "SFC_IC0003": "The operator does not exist.",
    "R000001": "The transaction has already been reversed.",
    "R000002": "The OriginalTransactionID is invalid.",
}

# What a customer's payment (STK) ends in, by TranProc code.
_STK = {
    Code.OK: "0",
    Code.PENDING_DELIVERY: "0",
    Code.INSUFFICIENT_FUNDS: "1",
    Code.BELOW_MINIMUM: "2",
    Code.ABOVE_MAXIMUM: "3",
    Code.LIMIT_EXCEEDED: "3",
    Code.DAILY_LIMIT_EXCEEDED: "4",
    Code.RECIPIENT_LIMIT: "8",
    Code.WRONG_PIN: "2001",
    Code.PIN_NOT_SET: "2001",
    Code.PIN_LOCKED: "8006",
    Code.ACCOUNT_INACTIVE: "2006",
    Code.NOT_REGISTERED: "SFC_IC0003",
}
# What a business's request (B2C, B2B, tax, balance, status, reversal) ends in.
_BUSINESS = {
    Code.OK: "0",
    Code.PENDING_DELIVERY: "0",
    Code.INSUFFICIENT_FUNDS: "1",
    Code.INSUFFICIENT_FLOAT: "1",
    Code.BELOW_MINIMUM: "2",
    Code.ABOVE_MAXIMUM: "3",
    Code.LIMIT_EXCEEDED: "3",
    Code.DAILY_LIMIT_EXCEEDED: "4",
    Code.RECIPIENT_LIMIT: "8",
    Code.ACCOUNT_INACTIVE: "2006",
    Code.NOT_ALLOWED: "21",
    Code.RECIPIENT_NOT_REGISTERED: "2040",
    Code.UNKNOWN_PAYBILL: "2040",
    Code.UNKNOWN_TILL: "2040",
    Code.NOT_REGISTERED: "SFC_IC0003",
    Code.UNKNOWN_RECEIPT: "R000002",
    Code.REVERSAL_NOT_POSSIBLE: "R000001",
    Code.SYSTEM_BUSY: "26",
    Code.SYSTEM_ERROR: "17",
    Code.ROLLED_BACK: "17",
}


def described(code: str) -> Result:
    """A result code with its usual description."""
    return Result(code, DESCRIPTIONS.get(code, "The service request failed."))


def for_stk(code: Code) -> Result:
    """The ``ResultCode`` of a customer's payment that ended in ``code``.

    Anything that says "nothing happened, try again" (busy, rolled back) is
    1019, expired; anything the product refused as not possible is 2028.
    """
    if code in _STK:
        return described(_STK[code])
    if code in (Code.ROLLED_BACK, Code.SYSTEM_BUSY, Code.SYSTEM_ERROR, Code.DUPLICATE_REQUEST):
        return described("1019")
    return described("2028")


def for_business(code: Code, reason: str = "") -> Result:
    """The ``ResultCode`` of a business request that ended in ``code``."""
    if code == Code.REVERSAL_NOT_POSSIBLE and reason != "already_reversed":
        return described("R000002")
    return described(_BUSINESS.get(code, "2028"))
