"""Business result codes: every outcome of a request, with its HTTP status and a clear message."""

from __future__ import annotations

import enum


class Code(enum.StrEnum):
    """What happened to a request. Channels turn these into screens, SMS and API errors."""

    OK = "ok"
    PENDING_DELIVERY = "pending_delivery"
    INVALID_INPUT = "invalid_input"
    UNKNOWN_PRODUCT = "unknown_product"
    NOT_REGISTERED = "not_registered"
    ALREADY_REGISTERED = "already_registered"
    ACCOUNT_INACTIVE = "account_inactive"
    NOT_ALLOWED = "not_allowed"
    WRONG_PIN = "wrong_pin"
    PIN_LOCKED = "pin_locked"
    PIN_NOT_SET = "pin_not_set"
    WEAK_PIN = "weak_pin"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INSUFFICIENT_FLOAT = "insufficient_float"
    BELOW_MINIMUM = "below_minimum"
    ABOVE_MAXIMUM = "above_maximum"
    LIMIT_EXCEEDED = "limit_exceeded"
    DAILY_LIMIT_EXCEEDED = "daily_limit_exceeded"
    RECIPIENT_LIMIT = "recipient_limit"
    RECIPIENT_NOT_REGISTERED = "recipient_not_registered"
    SAME_ACCOUNT = "same_account"
    UNKNOWN_TILL = "unknown_till"
    UNKNOWN_PAYBILL = "unknown_paybill"
    UNKNOWN_AGENT = "unknown_agent"
    UNKNOWN_RECEIPT = "unknown_receipt"
    NAME_LOOKUP_LIMIT = "name_lookup_limit"
    DUPLICATE_REQUEST = "duplicate_request"
    REVERSAL_NOT_POSSIBLE = "reversal_not_possible"
    VOUCHER_NOT_FOUND = "voucher_not_found"
    REQUEST_NOT_FOUND = "request_not_found"
    AIRTIME_FAILED = "airtime_failed"
    ROLLED_BACK = "rolled_back"
    # The risk rules (``mkoba.risk``): held for a check, confirm by sending again, refused.
    HELD_FOR_REVIEW = "held_for_review"
    CONFIRM_REQUIRED = "confirm_required"
    REFUSED_FOR_SECURITY = "refused_for_security"
    OPERATOR_UNFUNDED = "operator_unfunded"
    SYSTEM_BUSY = "system_busy"
    SYSTEM_ERROR = "system_error"

    @property
    def ok(self) -> bool:
        """True when the request did what was asked (or will, once delivered)."""
        return self in (Code.OK, Code.PENDING_DELIVERY)

    @property
    def http_status(self) -> int:
        """The HTTP status the native API answers with."""
        return _HTTP[self]

    @property
    def message(self) -> str:
        """A sentence for the person who asked, in English."""
        return _MESSAGES[self]


_HTTP = {
    Code.OK: 200,
    Code.PENDING_DELIVERY: 200,
    Code.INVALID_INPUT: 400,
    Code.UNKNOWN_PRODUCT: 404,
    Code.NOT_REGISTERED: 404,
    Code.ALREADY_REGISTERED: 409,
    Code.ACCOUNT_INACTIVE: 403,
    Code.NOT_ALLOWED: 403,
    Code.WRONG_PIN: 401,
    Code.PIN_LOCKED: 423,
    Code.PIN_NOT_SET: 401,
    Code.WEAK_PIN: 400,
    Code.INSUFFICIENT_FUNDS: 402,
    Code.INSUFFICIENT_FLOAT: 402,
    Code.BELOW_MINIMUM: 422,
    Code.ABOVE_MAXIMUM: 422,
    Code.LIMIT_EXCEEDED: 422,
    Code.DAILY_LIMIT_EXCEEDED: 422,
    Code.RECIPIENT_LIMIT: 422,
    Code.RECIPIENT_NOT_REGISTERED: 404,
    Code.SAME_ACCOUNT: 400,
    Code.UNKNOWN_TILL: 404,
    Code.UNKNOWN_PAYBILL: 404,
    Code.UNKNOWN_AGENT: 404,
    Code.UNKNOWN_RECEIPT: 404,
    Code.NAME_LOOKUP_LIMIT: 429,
    Code.DUPLICATE_REQUEST: 409,
    Code.REVERSAL_NOT_POSSIBLE: 409,
    Code.VOUCHER_NOT_FOUND: 404,
    Code.REQUEST_NOT_FOUND: 404,
    Code.AIRTIME_FAILED: 502,
    Code.ROLLED_BACK: 409,
    Code.HELD_FOR_REVIEW: 202,
    Code.CONFIRM_REQUIRED: 428,
    Code.REFUSED_FOR_SECURITY: 403,
    Code.OPERATOR_UNFUNDED: 503,
    Code.SYSTEM_BUSY: 503,
    Code.SYSTEM_ERROR: 500,
}

_MESSAGES = {
    Code.OK: "Done.",
    Code.PENDING_DELIVERY: "Accepted; it completes once this answer is delivered.",
    Code.INVALID_INPUT: "The request is not valid.",
    Code.UNKNOWN_PRODUCT: "There is no such service.",
    Code.NOT_REGISTERED: "This number is not registered for M-PESA.",
    Code.ALREADY_REGISTERED: "This number is already registered.",
    Code.ACCOUNT_INACTIVE: "This account cannot transact. Please contact customer care.",
    Code.NOT_ALLOWED: "You are not allowed to do that.",
    Code.WRONG_PIN: "Wrong PIN.",
    Code.PIN_LOCKED: "Your PIN is locked after too many wrong tries. Unlock it with your ID"
    " number or call customer care.",
    Code.PIN_NOT_SET: "Set your PIN first.",
    Code.WEAK_PIN: "Choose a PIN that is not easy to guess (not 1111 or 1234).",
    Code.INSUFFICIENT_FUNDS: "You do not have enough money to do that.",
    Code.INSUFFICIENT_FLOAT: "The agent does not have enough float.",
    Code.BELOW_MINIMUM: "The amount is below the minimum.",
    Code.ABOVE_MAXIMUM: "The amount is above the maximum for one transaction.",
    Code.LIMIT_EXCEEDED: "The amount is above your transaction limit.",
    Code.DAILY_LIMIT_EXCEEDED: "This would take you over your daily limit.",
    Code.RECIPIENT_LIMIT: "The recipient cannot receive this much (their balance limit).",
    Code.RECIPIENT_NOT_REGISTERED: "The recipient is not registered for M-PESA.",
    Code.SAME_ACCOUNT: "You cannot send money to yourself.",
    Code.UNKNOWN_TILL: "There is no such till number.",
    Code.UNKNOWN_PAYBILL: "There is no such business number.",
    Code.UNKNOWN_AGENT: "There is no such agent or store.",
    Code.UNKNOWN_RECEIPT: "There is no such transaction.",
    Code.NAME_LOOKUP_LIMIT: "You have checked too many names today.",
    Code.DUPLICATE_REQUEST: "This request id was already used for a different request.",
    Code.REVERSAL_NOT_POSSIBLE: "This transaction cannot be reversed.",
    Code.VOUCHER_NOT_FOUND: "There is no such voucher, or it has lapsed.",
    Code.REQUEST_NOT_FOUND: "There is no such request, or it is no longer open.",
    Code.AIRTIME_FAILED: "The airtime could not be delivered; no money moved.",
    Code.ROLLED_BACK: "Your request could not be completed and no money moved. You may try again.",
    Code.HELD_FOR_REVIEW: "For your security this payment is held for a check. No money has"
    " moved yet; you will get an SMS when it is done.",
    Code.CONFIRM_REQUIRED: "For your security, confirm this payment: send it again, with your"
    " PIN, within 5 minutes.",
    Code.REFUSED_FOR_SECURITY: "For your security this cannot be done now. Please call customer"
    " care.",
    Code.OPERATOR_UNFUNDED: "The service cannot pay its part (a commission) yet; no money moved."
    " The operator must fund its fee income (issue_emoney to the operator).",
    Code.SYSTEM_BUSY: "The system is busy. Please try again.",
    Code.SYSTEM_ERROR: "Something went wrong on our side; no money moved.",
}

assert set(_HTTP) == set(Code)
assert set(_MESSAGES) == set(Code)
