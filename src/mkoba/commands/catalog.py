"""Every product's command: the fields a channel sends, typed.

Field names are the ones channels send (the native API's bodies, the USSD menus'
request parameters, what the Daraja channel maps its bodies to). A product reads
its command from the context (``ctx.command_as``) and parses nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mkoba.catalog import Profile
from mkoba.commands.base import Amount, Command, Msisdn, Text
from mkoba.commands.fields import msisdn
from mkoba.commands.requests import APP_PAYMENTS


@dataclass(frozen=True, slots=True)
class NoInput(Command):
    """A product that needs nothing but who asks (and their PIN)."""

    products: ClassVar[tuple[str, ...]] = (
        "balance",
        "mini_statement",
        "commission_statement",
        "change_pin",
    )


@dataclass(frozen=True, slots=True)
class Register(Command):
    """Open a wallet on the requester's number."""

    products: ClassVar[tuple[str, ...]] = ("register",)
    name: Text
    id_number: Text
    language: Text = ""
    tier: Text = ""


@dataclass(frozen=True, slots=True)
class AgentRegister(Command):
    """An agent registers a customer's number at the store, with the ID document seen."""

    products: ClassVar[tuple[str, ...]] = ("register_customer",)
    customer: Msisdn
    name: Text
    id_number: Text
    language: Text = ""
    tier: Text = ""


@dataclass(frozen=True, slots=True)
class PayPerson(Command):
    """Money to a phone number: a send, an agent's deposit, a voucher to the unregistered."""

    products: ClassVar[tuple[str, ...]] = ("send_money", "deposit", "send_unregistered")
    to: Msisdn
    amount: Amount


@dataclass(frozen=True, slots=True)
class Withdraw(Command):
    """Cash out at an agent's store (store 1 unless named)."""

    products: ClassVar[tuple[str, ...]] = ("withdraw",)
    agent: Text
    amount: Amount
    store: Text = ""


@dataclass(frozen=True, slots=True)
class PayBill(Command):
    """Pay an organisation's paybill, against an account at it."""

    products: ClassVar[tuple[str, ...]] = ("pay_bill",)
    paybill: Text
    account: Text
    amount: Amount


@dataclass(frozen=True, slots=True)
class BuyGoods(Command):
    """Pay a merchant's till."""

    products: ClassVar[tuple[str, ...]] = ("buy_goods",)
    till: Text
    amount: Amount


@dataclass(frozen=True, slots=True)
class BuyAirtime(Command):
    """Airtime for a number (the payer's own unless named)."""

    products: ClassVar[tuple[str, ...]] = ("buy_airtime",)
    amount: Amount
    to: Msisdn = ""


@dataclass(frozen=True, slots=True)
class NameLookup(Command):
    """Who a number, till, paybill or agent store is (``kind``, msisdn by default)."""

    products: ClassVar[tuple[str, ...]] = ("name_lookup",)
    number: Text
    kind: Text = ""
    store: Text = ""

    def refined(self, profile: Profile) -> NameLookup:
        """A phone number is read as one; a till or a paybill is a number as typed."""
        if self.kind in ("", "msisdn"):
            return NameLookup(msisdn("number", self.number, profile.country), "msisdn")
        return self


@dataclass(frozen=True, slots=True)
class RedeemVoucher(Command):
    """Cash a voucher sent to an unregistered number, at an agent store."""

    products: ClassVar[tuple[str, ...]] = ("redeem_voucher",)
    code: Text
    recipient: Msisdn


@dataclass(frozen=True, slots=True)
class Reversal(Command):
    """Ask for, or decide on, the reversal of a transaction by its receipt."""

    products: ClassVar[tuple[str, ...]] = (
        "request_reversal",
        "approve_reversal",
        "reject_reversal",
    )
    receipt: Text


@dataclass(frozen=True, slots=True)
class FloatTransfer(Command):
    """Move e-float to an agent store or super-agent (a head office names the source)."""

    products: ClassVar[tuple[str, ...]] = ("float_transfer",)
    to: Text
    amount: Amount
    source: Text = ""


@dataclass(frozen=True, slots=True)
class CustomerPin(Command):
    """Staff act on a customer's PIN."""

    products: ClassVar[tuple[str, ...]] = ("unlock_pin", "reset_pin")
    customer: Msisdn


@dataclass(frozen=True, slots=True)
class WalletState(Command):
    """Staff freeze or unfreeze a wallet, saying why."""

    products: ClassVar[tuple[str, ...]] = ("freeze_wallet", "unfreeze_wallet")
    customer: Msisdn
    reason: Text = ""


@dataclass(frozen=True, slots=True)
class KycTier(Command):
    """Staff move a customer to another KYC tier (and so its limits)."""

    products: ClassVar[tuple[str, ...]] = ("set_kyc_tier",)
    customer: Msisdn
    tier: Text


@dataclass(frozen=True, slots=True)
class TicketOpen(Command):
    """A customer asks customer care for help, in a category, saying what happened."""

    products: ClassVar[tuple[str, ...]] = ("open_ticket",)
    category: Text
    text: Text = ""


@dataclass(frozen=True, slots=True)
class TicketWork(Command):
    """Staff work a care ticket: a note, an assignment (``to``) or its resolution."""

    products: ClassVar[tuple[str, ...]] = ("note_ticket", "assign_ticket", "resolve_ticket")
    ticket: Text
    text: Text = ""
    to: Text = ""


@dataclass(frozen=True, slots=True)
class Onboard(Command):
    """Staff onboard a business: an agent's head office, store or assistant, a
    super-agent, a merchant's till or an organisation's paybill (``parent``: the head
    office's or the store's number)."""

    products: ClassVar[tuple[str, ...]] = ("onboard_business",)
    kind: Text
    name: Text
    number: Text = ""
    phone: Msisdn = ""
    parent: Text = ""
    tariff: Text = ""


@dataclass(frozen=True, slots=True)
class OperatorUnlock(Command):
    """The command line unlocks a staff member's PIN."""

    products: ClassVar[tuple[str, ...]] = ("operator_unlock",)
    staff: Msisdn
    user: Text = ""


@dataclass(frozen=True, slots=True)
class PinUnlockSelf(Command):
    """A customer unlocks their own PIN with their ID number (the new PIN is sealed)."""

    products: ClassVar[tuple[str, ...]] = ("pin_unlock_self",)
    id_number: Text


@dataclass(frozen=True, slots=True)
class SetLanguage(Command):
    """The language a party's messages and menus are in."""

    products: ClassVar[tuple[str, ...]] = ("set_language",)
    language: Text


@dataclass(frozen=True, slots=True)
class EmailCode(Command):
    """A customer asks for a code at an email address, to register it for statements."""

    products: ClassVar[tuple[str, ...]] = ("email_code",)
    address: Text


@dataclass(frozen=True, slots=True)
class AppCode(Command):
    """The app's validation server asks TranProc to text an enrolment code to a phone.

    ``sealed`` is the code sealed under the transport key for this request
    (``products/app_code.py``): the command's wire form never holds it in clear.
    """

    products: ClassVar[tuple[str, ...]] = ("app_code",)
    sealed: Text

    @staticmethod
    def context(request_id: str) -> bytes:
        """What the code is sealed for: this request only (as a PIN is)."""
        return request_id.encode() + b":app-code"


@dataclass(frozen=True, slots=True)
class EmailConfirm(Command):
    """A customer types the code they were emailed, to register that address."""

    products: ClassVar[tuple[str, ...]] = ("register_email",)
    code: Text


@dataclass(frozen=True, slots=True)
class FullStatement(Command):
    """A customer asks for the full statement of their last ``months``, by email."""

    products: ClassVar[tuple[str, ...]] = ("full_statement",)
    months: Text


@dataclass(frozen=True, slots=True)
class Emoney(Command):
    """Issue or redeem e-money against the trust account (``to`` names the holder)."""

    products: ClassVar[tuple[str, ...]] = ("issue_emoney", "redeem_emoney")
    kind: Text
    reference: Text
    amount: Amount
    to: Text = ""
    account: Text = ""


@dataclass(frozen=True, slots=True)
class BusinessToBusiness(Command):
    """Daraja's B2B: a payment to another business, or a move between own accounts."""

    products: ClassVar[tuple[str, ...]] = ("b2b",)
    command: Text
    shortcode: Text
    amount: Amount
    target: Text = ""
    account: Text = ""


@dataclass(frozen=True, slots=True)
class BusinessToCustomer(Command):
    """Daraja's B2C: a business pays a customer's phone."""

    products: ClassVar[tuple[str, ...]] = ("b2c",)
    command: Text
    shortcode: Text
    to: Msisdn
    amount: Amount
    remarks: Text = ""


@dataclass(frozen=True, slots=True)
class BulkDisbursement(Command):
    """Staff approve a bulk disbursement batch: an organisation pays ``amount`` in all."""

    products: ClassVar[tuple[str, ...]] = ("bulk_disbursement",)
    batch: Text
    shortcode: Text
    # What the batch takes from the organisation's account: the payments and their fees.
    amount: Amount


@dataclass(frozen=True, slots=True)
class BulkPayment(Command):
    """One row of an approved bulk disbursement: B2C's payment, asked for by staff."""

    products: ClassVar[tuple[str, ...]] = ("bulk_payment",)
    shortcode: Text
    to: Msisdn
    amount: Amount
    reference: Text = ""


@dataclass(frozen=True, slots=True)
class TaxRemittance(Command):
    """A business pays a tax authority's paybill."""

    products: ClassVar[tuple[str, ...]] = ("tax_remittance",)
    shortcode: Text
    target: Text
    account: Text
    amount: Amount


@dataclass(frozen=True, slots=True)
class BusinessReversal(Command):
    """A business reverses a payment it received."""

    products: ClassVar[tuple[str, ...]] = ("business_reversal",)
    shortcode: Text
    receipt: Text
    amount: Amount


@dataclass(frozen=True, slots=True)
class TransactionStatus(Command):
    """A business asks about a transaction, by receipt or by the request that made it."""

    products: ClassVar[tuple[str, ...]] = ("transaction_status",)
    shortcode: Text
    receipt: Text = ""
    request: Text = ""


@dataclass(frozen=True, slots=True)
class AccountBalance(Command):
    """A business asks for its accounts' balances."""

    products: ClassVar[tuple[str, ...]] = ("account_balance",)
    shortcode: Text


ALL: tuple[type[Command], ...] = (
    NoInput,
    Register,
    AgentRegister,
    PayPerson,
    Withdraw,
    PayBill,
    BuyGoods,
    BuyAirtime,
    NameLookup,
    RedeemVoucher,
    Reversal,
    FloatTransfer,
    CustomerPin,
    WalletState,
    KycTier,
    TicketOpen,
    TicketWork,
    Onboard,
    OperatorUnlock,
    PinUnlockSelf,
    SetLanguage,
    EmailCode,
    AppCode,
    EmailConfirm,
    FullStatement,
    Emoney,
    BusinessToBusiness,
    BusinessToCustomer,
    BulkDisbursement,
    BulkPayment,
    TaxRemittance,
    BusinessReversal,
    TransactionStatus,
    AccountBalance,
    *APP_PAYMENTS,
)
