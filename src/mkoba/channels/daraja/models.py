"""The Daraja surface as OpenAPI schemas: what each route takes and answers.

Routes read bodies themselves (body.py), leniently; these models only
document them, so ``/openapi.json`` describes the whole surface and schema
fuzzers know what to send. Numbers may be given as numbers or strings. Every
string, anywhere in a body, must be text the platform can store (no lone
surrogates, NUL or other control characters).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Numeric = int | str
# What body.py takes as an Amount (anything else is 400.002.02 Bad Request - Invalid Amount).
WholeKes = Annotated[
    Annotated[int, Field(ge=1, le=1_000_000_000)]
    | Annotated[str, Field(pattern=r"^\s*[0-9]+(\.0*)?\s*$")],
    Field(
        description="Whole KES, 1 to 1,000,000,000, as a number or a string of digits with at"
        ' most a zero fraction (1, "1", 1.0, "1.00"); no sign, exponent or other fraction',
        examples=[10],
    ),
]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorEnvelope(BaseModel):
    """Every synchronous error."""

    requestId: str = Field(examples=["16813-15-1"])
    errorCode: str = Field(examples=["400.002.02"])
    errorMessage: str = Field(examples=["Bad Request - Invalid Amount"])


class TokenAnswer(BaseModel):
    """An OAuth token."""

    access_token: str
    expires_in: str = Field(examples=["3599"])


class StkPushBody(_Doc):
    """M-Pesa Express: prompt a customer to pay a paybill or till."""

    BusinessShortCode: Numeric = Field(examples=[174379])
    Password: str = Field(description="base64(BusinessShortCode + Passkey + Timestamp)")
    Timestamp: str = Field(examples=["20240101120000"])
    TransactionType: str = Field(examples=["CustomerPayBillOnline", "CustomerBuyGoodsOnline"])
    Amount: WholeKes
    PartyA: Numeric = Field(examples=["254708374149"])
    PartyB: Numeric = Field(examples=[174379])
    PhoneNumber: Numeric = Field(examples=["254708374149"])
    CallBackURL: str = Field(examples=["https://example.com/callback"])
    AccountReference: str | None = Field(None, examples=["Test"])
    TransactionDesc: str | None = Field(None, examples=["Test"])


class StkPushAnswer(BaseModel):
    """A push accepted: the result comes to the CallBackURL."""

    MerchantRequestID: str
    CheckoutRequestID: str
    ResponseCode: str
    ResponseDescription: str
    CustomerMessage: str


class StkQueryBody(_Doc):
    """What became of a push."""

    BusinessShortCode: Numeric = Field(examples=[174379])
    Password: str
    Timestamp: str
    CheckoutRequestID: str


class StkQueryAnswer(BaseModel):
    """A push's outcome (while pending: 500.001.1001)."""

    ResponseCode: str
    ResponseDescription: str
    MerchantRequestID: str
    CheckoutRequestID: str
    ResultCode: str
    ResultDesc: str


class RegisterUrlBody(_Doc):
    """Register a shortcode's C2B URLs."""

    ShortCode: Numeric = Field(examples=[174379])
    ResponseType: str = Field(examples=["Completed", "Cancelled"])
    ConfirmationURL: str
    ValidationURL: str | None = None


class SimulateBody(_Doc):
    """A test customer pays a shortcode (sandbox only)."""

    ShortCode: Numeric = Field(examples=[174379])
    CommandID: str = Field(examples=["CustomerPayBillOnline"])
    Amount: WholeKes
    Msisdn: Numeric = Field(examples=["254708374149"])
    BillRefNumber: str | None = Field(None, examples=["invoice1"])


class OriginatorAnswer(BaseModel):
    """C2B register and simulate: both spellings of the originator key."""

    OriginatorCoversationID: str
    OriginatorConversationID: str
    ResponseCode: str
    ResponseDescription: str


class B2CBody(_Doc):
    """Pay a customer from a B2C shortcode."""

    OriginatorConversationID: str | None = None
    InitiatorName: str = Field(examples=["testapi"])
    SecurityCredential: str
    CommandID: str = Field(examples=["BusinessPayment"])
    Amount: WholeKes
    PartyA: Numeric = Field(examples=[600000])
    PartyB: Numeric = Field(examples=["254708374149"])
    Remarks: str | None = None
    QueueTimeOutURL: str
    ResultURL: str
    Occassion: str | None = None
    Occasion: str | None = None


class B2BBody(_Doc):
    """Pay a paybill or till, or top up a B2C shortcode."""

    Initiator: str = Field(examples=["testapi"])
    SecurityCredential: str
    CommandID: str = Field(examples=["BusinessPayBill", "BusinessBuyGoods", "BusinessPayToBulk"])
    SenderIdentifierType: Numeric | None = Field(None, examples=["4"])
    RecieverIdentifierType: Numeric | None = Field(None, examples=["4"])
    Amount: WholeKes
    PartyA: Numeric
    PartyB: Numeric
    AccountReference: str | None = None
    Requester: Numeric | None = None
    Remarks: str | None = None
    QueueTimeOutURL: str
    ResultURL: str
    Occassion: str | None = None


class TaxBody(_Doc):
    """Pay tax to KRA (PartyB 572572) against a PRN."""

    Initiator: str
    SecurityCredential: str
    CommandID: str = Field(examples=["PayTaxToKRA"])
    SenderIdentifierType: Numeric | None = None
    RecieverIdentifierType: Numeric | None = None
    Amount: WholeKes
    PartyA: Numeric
    PartyB: Numeric = Field(examples=[572572])
    AccountReference: str
    Remarks: str | None = None
    QueueTimeOutURL: str
    ResultURL: str


class StatusBody(_Doc):
    """What became of a transaction."""

    Initiator: str
    SecurityCredential: str
    CommandID: str = Field(examples=["TransactionStatusQuery"])
    TransactionID: str | None = None
    OriginalConversationID: str | None = None
    PartyA: Numeric
    IdentifierType: Numeric | None = Field(None, examples=["4"])
    ResultURL: str
    QueueTimeOutURL: str
    Remarks: str | None = None
    Occasion: str | None = None


class BalanceBody(_Doc):
    """A shortcode's balances."""

    Initiator: str
    SecurityCredential: str
    CommandID: str = Field(examples=["AccountBalance"])
    PartyA: Numeric
    IdentifierType: Numeric | None = Field(None, examples=["4"])
    Remarks: str | None = None
    QueueTimeOutURL: str
    ResultURL: str


class ReversalBody(_Doc):
    """Reverse a payment the shortcode received."""

    Initiator: str
    SecurityCredential: str
    CommandID: str = Field(examples=["TransactionReversal"])
    TransactionID: str
    Amount: WholeKes
    ReceiverParty: Numeric
    RecieverIdentifierType: Numeric | None = Field(None, examples=["11"])
    Remarks: str | None = None
    QueueTimeOutURL: str
    ResultURL: str
    Occasion: str | None = None


class Acknowledgement(BaseModel):
    """A business request accepted: the result comes to the ResultURL."""

    ConversationID: str
    OriginatorConversationID: str
    ResponseCode: str
    ResponseDescription: str


class QrBody(_Doc):
    """A dynamic QR code."""

    MerchantName: str
    RefNo: str
    Amount: WholeKes
    TrxCode: str = Field(examples=["BG", "PB", "WA", "SM", "SB"])
    CPI: Numeric
    Size: Numeric | None = Field(None, examples=["300"])


class QrAnswer(BaseModel):
    """The code, a base64 PNG."""

    ResponseCode: str
    RequestID: str
    ResponseDescription: str
    QRCode: str


class PullRegisterBody(_Doc):
    """Register a shortcode for pull transactions."""

    ShortCode: Numeric
    RequestType: str | None = Field(None, examples=["Pull"])
    NominatedNumber: Numeric
    CallBackURL: str


class PullRegisterAnswer(BaseModel):
    """Registered."""

    ResponseRefID: str
    ResponseStatus: str
    ShortCode: str
    ResponseDescription: str


class PullQueryBody(_Doc):
    """A shortcode's C2B payments between two moments."""

    ShortCode: Numeric
    StartDate: str = Field(examples=["2024-01-01 08:00:00"])
    EndDate: str = Field(examples=["2024-01-01 18:00:00"])
    OffSetValue: Numeric | None = Field(None, examples=["0"])


class PullQueryAnswer(BaseModel):
    """The payments, as a list of lists."""

    ResponseRefID: str
    ResponseCode: str
    ResponseMessage: str
    Response: list[list[dict[str, Any]]]


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """An OpenAPI ``requestBody`` for ``model``."""
    schema = model.model_json_schema()
    assert "$defs" not in schema, f"{model.__name__} must stay flat"
    return {"required": True, "content": {"application/json": {"schema": schema}}}
