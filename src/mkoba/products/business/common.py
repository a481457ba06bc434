"""What the business products share: who may ask, the business asking, its accounts.

Business products act for an organisation (paybill, B2C shortcode) or a
merchant (till), named by its shortcode in the ``shortcode`` parameter. They
have no PIN: the channel that carries them authenticates the business (Daraja:
the app's token, the initiator and its SecurityCredential), so only such
channels may ask.

An organisation holds two accounts, as on M-Pesa:

- UTILITY ("Utility Account"): customers' payments (C2B, STK) and B2B payments
  to its paybill land here, and B2C pays out from here;
- WORKING ("Working Account", the MMF account): its own float, which B2B
  payments, tax and B2C top-ups are paid from.

Float moves between them by the business's own B2B commands: a top-up
(``BusinessPayToBulk``) to its own shortcode or ``BusinessTransferFromMMFToUtility``
moves WORKING to UTILITY, ``BusinessTransferFromUtilityToMMF`` the other way. A
merchant (till) has one account, TILL, for both.
"""

from __future__ import annotations

from collections.abc import Collection

from mkoba.codes import Code
from mkoba.parties import Party, PartyKind, Purpose
from mkoba.processor import proof
from mkoba.processor.context import Context
from mkoba.processor.plan import Refused

# Channels that authenticate a business themselves.
BUSINESS_CHANNELS = proof.BUSINESS_CHANNELS
BUSINESS_KINDS = (PartyKind.ORGANISATION, PartyKind.MERCHANT)


def check_channel(ctx: Context) -> None:
    """Refuse a business product asked for on a channel that cannot vouch for a business."""
    if ctx.request.channel not in BUSINESS_CHANNELS:
        raise Refused(Code.NOT_ALLOWED, "only a business's own API can ask for that")


def offered(ctx: Context, product: str) -> None:
    """Refuse when the catalog in force does not offer ``product``."""
    if product not in ctx.profile.products:
        raise Refused(Code.NOT_ALLOWED, f"{ctx.profile.name} does not offer {product}")


def command_of(
    ctx: Context, product: str, command: str, shortcode: str, commands: Collection[str]
) -> Party:
    """Check the channel, the offer and the command (one of ``commands``); the payer."""
    check_channel(ctx)
    offered(ctx, product)
    if command not in commands:
        raise Refused(Code.INVALID_INPUT, f"command must be one of {sorted(commands)}")
    return business(ctx, shortcode)


def business(ctx: Context, shortcode: str) -> Party:
    """The active organisation or merchant whose shortcode is ``shortcode``."""
    for kind in BUSINESS_KINDS:
        party = ctx.directory.by_number(kind, shortcode)
        if party is not None:
            if not party.active:
                raise Refused(Code.ACCOUNT_INACTIVE, f"{shortcode} cannot transact")
            return party
    raise Refused(Code.NOT_ALLOWED, f"there is no business {shortcode}")


def payee(ctx: Context, shortcode: str, kinds: tuple[PartyKind, ...]) -> Party:
    """The active business receiving a payment, by shortcode."""
    for kind in kinds:
        party = ctx.directory.by_number(kind, shortcode)
        if party is not None:
            if not party.active:
                raise Refused(Code.ACCOUNT_INACTIVE, f"{shortcode} cannot receive payments")
            return party
    missing = Code.UNKNOWN_TILL if kinds == (PartyKind.MERCHANT,) else Code.UNKNOWN_PAYBILL
    raise Refused(missing)


def collection_account(ctx: Context, party: Party) -> int:
    """Where payments to a business land: a till's TILL, an organisation's UTILITY."""
    purpose = Purpose.TILL if party.kind == PartyKind.MERCHANT else Purpose.UTILITY
    return ctx.account(party, purpose)


def float_account(ctx: Context, party: Party) -> int:
    """Where a business pays others from: its WORKING account (a till: the till itself)."""
    purpose = Purpose.TILL if party.kind == PartyKind.MERCHANT else Purpose.WORKING
    return ctx.account(party, purpose)


def public_name(party: Party) -> str:
    """``"600000 - NAME"``, as results name a business or a customer."""
    number = party.number if party.kind != PartyKind.CUSTOMER else party.msisdn
    return f"{number or ''} - {party.name}"


# Daraja's names for a business's accounts, with the purpose each one is, by kind.
ACCOUNT_NAMES: dict[PartyKind, tuple[tuple[str, Purpose | None], ...]] = {
    PartyKind.ORGANISATION: (
        ("Working Account", Purpose.WORKING),
        ("Utility Account", Purpose.UTILITY),
        ("Charges Paid Account", None),
        ("Organization Settlement Account", None),
    ),
    PartyKind.MERCHANT: (
        ("Merchant Account", Purpose.TILL),
        ("Working Account", None),
        ("Charges Paid Account", None),
    ),
}
