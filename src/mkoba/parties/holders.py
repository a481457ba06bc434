"""Who holds what: issued e-money's holders and their default accounts, and what each
kind of business gets when it is onboarded (its accounts, its role, its parent's kind).
The onboarding product and the console's preview of it read the same table."""

from __future__ import annotations

from typing import NamedTuple

from mkoba.parties.model import PartyKind, Purpose, Role

# A bank's reference is at most this long.
reference_length_max = 64

# ``kind`` of an e-money issue or redemption -> the party kind, and its default account.
EMONEY_HOLDERS = {
    "operator": (PartyKind.OPERATOR, Purpose.FEES),
    "super_agent": (PartyKind.SUPER_AGENT, Purpose.FLOAT),
    "agent_store": (PartyKind.AGENT_STORE, Purpose.FLOAT),
    "organisation": (PartyKind.ORGANISATION, Purpose.UTILITY),
    "merchant": (PartyKind.MERCHANT, Purpose.TILL),
}
# An ``account`` named in an issue or redemption -> the purpose it means.
EMONEY_ACCOUNTS = {
    "fees": Purpose.FEES,
    "float": Purpose.FLOAT,
    "utility": Purpose.UTILITY,
    "working": Purpose.WORKING,
    "till": Purpose.TILL,
}


def bank_reference(text: str) -> str | None:
    """A bank reference as one movement is known by: letters and digits, upper case.

    ``ft-123 45`` and ``FT12345`` name one movement, so they are one reference: case,
    hyphens and spaces are dropped. None when what is left is not a reference.
    """
    canonical = "".join(text.split()).replace("-", "").upper()
    if not canonical or len(canonical) > reference_length_max or not canonical.isascii():
        return None
    return canonical if canonical.isalnum() else None


class Business(NamedTuple):
    """What onboarding makes of one kind of business."""

    party: PartyKind
    purposes: tuple[Purpose, ...]
    role: Role
    # The kind of party it sits under (a store under a head office), or None.
    parent: PartyKind | None
    # Whether it must have a phone (a paybill's organisation need not).
    phone: bool


# ``kind`` of an onboarding -> what the new party gets.
BUSINESSES = {
    "super_agent": Business(PartyKind.SUPER_AGENT, (Purpose.FLOAT,), Role.SUPER_AGENT, None, True),
    "agent_head_office": Business(
        PartyKind.AGENT_HEAD_OFFICE, (Purpose.COMMISSION,), Role.AGENT_OWNER, None, True
    ),
    "agent_store": Business(
        PartyKind.AGENT_STORE,
        (Purpose.FLOAT,),
        Role.AGENT_OPERATOR,
        PartyKind.AGENT_HEAD_OFFICE,
        True,
    ),
    "agent_assistant": Business(
        PartyKind.AGENT_ASSISTANT, (), Role.AGENT_ASSISTANT, PartyKind.AGENT_STORE, True
    ),
    "merchant": Business(PartyKind.MERCHANT, (Purpose.TILL,), Role.MERCHANT, None, True),
    "organisation": Business(
        PartyKind.ORGANISATION, (Purpose.UTILITY, Purpose.WORKING), Role.BILLER, None, False
    ),
}
