"""Who may hold issued e-money, and in which of their accounts it lands by default."""

from __future__ import annotations

from mkoba.parties.model import PartyKind, Purpose

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
