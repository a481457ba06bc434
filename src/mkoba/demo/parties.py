"""Who is in the demo world, as a developer needs them: role, name, numbers and demo PIN.

Read from the seed itself (``demo.seed``) and from the Daraja sandbox's constants,
never copied: a party added to the seed shows up here by itself.
"""

from __future__ import annotations

from typing import NamedTuple

from mkoba.demo import sandbox, seed
from mkoba.parties import PartyKind, Role


class Listed(NamedTuple):
    """One line of the list: who, which numbers, and the PIN that acts for them."""

    group: str
    role: str
    name: str
    phone: str
    number: str
    pin: str


def _role(seeded: seed.Seeded) -> str:
    roles = [role.value.replace("_", " ") for role, _ in seeded.roles]
    return ", ".join(roles) or seeded.party.kind.value.replace("_", " ")


def demo_parties(sandbox_pin: str) -> list[Listed]:
    """Every demo party, in the seed's order; the Daraja sandbox's after them.

    ``sandbox_pin``: the PIN of the sandbox's test customer (``daraja_sandbox_pin``).
    """
    listed = [
        Listed(
            "demo world",
            _role(seeded),
            seeded.party.name,
            seeded.party.msisdn or "",
            seeded.party.number or "",
            seeded.pin or "",
        )
        for seeded in seed.businesses(range(1, 10**6), now=0)
    ]
    crowd = seed.customers(1, seed.CUSTOMERS, tier="", now=0)
    swahili = [person.party.msisdn for person in crowd if person.party.language == "sw"]
    listed.append(
        Listed(
            "demo world",
            "customer",
            f"{len(crowd):,} customers, up to {crowd[-1].party.msisdn}; {len(swahili):,} read"
            f" Swahili ({swahili[0]}, {swahili[1]}, {swahili[2]}...)",
            crowd[0].party.msisdn or "",
            "",
            seed.PINS["customer"],
        )
    )
    for business in sandbox.BUSINESSES:
        role = Role.MERCHANT if business.kind == PartyKind.MERCHANT else Role.BILLER
        listed.append(Listed("Daraja sandbox", role.value, business.name, "", business.number, ""))
    listed.append(
        Listed(
            "Daraja sandbox",
            Role.BILLER.value,
            sandbox.TAX_AUTHORITY_NAME,
            "",
            sandbox.TAX_AUTHORITY,
            "",
        )
    )
    listed.append(
        Listed(
            "Daraja sandbox",
            Role.CUSTOMER.value,
            sandbox.TEST_CUSTOMER_NAME,
            sandbox.TEST_MSISDN,
            "",
            sandbox_pin,
        )
    )
    return listed
