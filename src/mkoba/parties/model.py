"""One identity and role model for every actor: customers, agents, merchants, staff.

A ``Party`` is a person or an organisation. What it may do comes from its
``kind`` and from role assignments, each scoped to another party where that
matters (an assistant of one store, a biller's child paybill). What it holds
is a set of ledger accounts, one per purpose.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from mkoba.ledger import Account, AccountFlags, AccountKind


class PartyKind(enum.StrEnum):
    """What a party is."""

    OPERATOR = "operator"
    CUSTOMER = "customer"
    SUPER_AGENT = "super_agent"
    AGENT_HEAD_OFFICE = "agent_head_office"
    AGENT_STORE = "agent_store"
    AGENT_ASSISTANT = "agent_assistant"
    MERCHANT = "merchant"
    ORGANISATION = "organisation"
    FIELD_OFFICER = "field_officer"
    STAFF = "staff"


class PartyState(enum.StrEnum):
    """Where a party stands. Only an active or a dormant party may move money.

    Dormant is a customer wallet with no customer-initiated transaction for the
    profile's dormancy days (``parties/dormancy.py``; the risk rules mark it): it still
    pays and is paid, its first payments pass rule R8, and the customer's next allowed
    payment makes it active again.
    """

    UNREGISTERED = "unregistered"
    ACTIVE = "active"
    FROZEN = "frozen"
    DORMANT = "dormant"
    CLOSED = "closed"


class Role(enum.StrEnum):
    """What a party may do, possibly within the scope of another party."""

    CUSTOMER = "customer"
    AGENT_OPERATOR = "agent_operator"
    AGENT_ASSISTANT = "agent_assistant"
    AGENT_OWNER = "agent_owner"
    SUPER_AGENT = "super_agent"
    MERCHANT = "merchant"
    BILLER = "biller"
    FIELD_OFFICER = "field_officer"
    CUSTOMER_CARE = "customer_care"
    OPERATIONS = "operations"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.CUSTOMER_CARE, Role.OPERATIONS, Role.COMPLIANCE, Role.ADMIN})


class Purpose(enum.IntEnum):
    """What a ledger account is for; its value is the ledger account's ``code``.

    A party's account id is ``party_id * 100 + purpose``, so an id tells whose
    account it is and what for.
    """

    WALLET = 1
    FLOAT = 2
    COMMISSION = 3
    TILL = 4
    UTILITY = 5
    WORKING = 6
    TRUST = 10
    FEES = 11
    EXCISE = 12
    VOUCHERS = 13
    AIRTIME = 14
    REVERSALS = 15
    # Gift vouchers bought in the app and not yet redeemed, cashed or refunded.
    GIFTS = 16


def account_id(party_id: int, purpose: Purpose) -> int:
    """The ledger account id of ``party_id``'s account for ``purpose``."""
    assert party_id > 0
    return party_id * 100 + int(purpose)


def emoney_account(
    party_id: int, purpose: Purpose, ledger: int, currency: str, balance_max: int | None = None
) -> Account:
    """A party's e-money account for ``purpose``: never below zero, capped if ``balance_max``."""
    return Account(
        id=account_id(party_id, purpose),
        ledger=ledger,
        currency=currency,
        kind=AccountKind.EMONEY,
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        balance_max=balance_max,
        code=int(purpose),
        user_data=party_id,
    )


class Party(NamedTuple):
    """A person or organisation, as registered."""

    id: int
    kind: PartyKind
    name: str
    msisdn: str | None = None
    # Agent number, store number, till, paybill or staff username, per kind.
    number: str | None = None
    parent_id: int = 0
    state: PartyState = PartyState.ACTIVE
    kyc_tier: str | None = None
    language: str = "en"
    # A biller's paybill tariff: customer_bears, business_bears or shared.
    tariff: str | None = None
    created: int = 0
    # A keyed digest of the ID document number, for self-service checks (never the number).
    id_digest: str | None = None

    @property
    def active(self) -> bool:
        """Whether this party may move money (active, or dormant: a status, not a block)."""
        return self.state in (PartyState.ACTIVE, PartyState.DORMANT)


class Credential(NamedTuple):
    """A party's PIN, as a keyed verifier, and its wrong-attempt count."""

    party_id: int
    verifier: str
    failed_attempts: int = 0
    locked: bool = False
    must_change: bool = False
    changed: int = 0
