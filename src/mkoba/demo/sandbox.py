"""The Daraja sandbox's world as demo data: its businesses and test customer, funded.

The public sandbox's conventions, so that SDK examples work unchanged: shortcode
174379 (paybill, with the sandbox's well-known passkey), the sandbox's 600xxx
organisation shortcodes, till 600100, the tax authority's paybill 572572, each
organisation's UTILITY and WORKING accounts funded, and the documented test
MSISDN 254708374149 as a customer ("John Doe") with KES 100,000 (or as much as
the profile's top tier may hold) and the sandbox PIN. The Daraja channel adds
its app, shortcodes and initiator (``channels/daraja/demo.py``).

Every step is idempotent: parties are created where missing and the funding
transfers have fixed ids, so a start interrupted half-way finishes the rest the
next time, and nothing is created or funded twice.
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple

from mkoba.ledger import Transfer, TransferResult
from mkoba.parties import (
    OPERATOR_ID,
    Change,
    Party,
    PartyKind,
    Pin,
    Purpose,
    Role,
    account_id,
    emoney_account,
)
from mkoba.processor import ids
from mkoba.processor.services import Services

# Public on purpose: the sandbox's passkey is documented, as Safaricom's test one is.
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"

TEST_MSISDN = "254708374149"
TEST_CUSTOMER_NAME = "John Doe"
STK_SHORTCODE = "174379"
TILL = "600100"
TAX_AUTHORITY = "572572"
TAX_AUTHORITY_NAME = "Kenya Revenue Authority"
ORGANISATIONS = (
    "600000",
    "600984",
    "600996",
    "600997",
    "600992",
    "600979",
    "600638",
    "600782",
    "600610",
    "601426",
)
# Funding (KES): what the demo's businesses and test customer start with.
STK_FLOAT_MAJOR = 1_000_000
ORGANISATION_FLOAT_MAJOR = 500_000
CUSTOMER_MAJOR = 100_000
# Issuance transfers of the demo live here, far above the processor's ids.
transfer_id_base = ids.unnumbered_id_base


class Business(NamedTuple):
    """A demo business: shortcode, kind of party, name, Daraja kind, passkey."""

    number: str
    kind: PartyKind
    name: str
    shortcode_kind: str
    passkey: str = ""


BUSINESSES = (
    Business(STK_SHORTCODE, PartyKind.ORGANISATION, "Sandbox Test Paybill", "paybill", PASSKEY),
    *(
        Business(number, PartyKind.ORGANISATION, f"Sandbox Organisation {number}", "paybill")
        for number in ORGANISATIONS
    ),
    Business(TILL, PartyKind.MERCHANT, "Sandbox Test Till", "till"),
)


async def ensure_world(services: Services, customer_pin: str, now: int) -> dict[str, Party]:
    """The sandbox's parties, created and funded where missing; by shortcode or MSISDN."""
    parties = await _parties(services, customer_pin, now)
    await _fund(services, parties, now)
    return parties


async def _parties(services: Services, customer_pin: str, now: int) -> dict[str, Party]:
    """The demo's parties, created where missing; by shortcode or MSISDN."""
    directory = services.directory
    profile = services.profile(now)
    tier = profile.tiers[-1]
    wanted: list[tuple[Party, tuple[Purpose, ...], Role, str | None]] = []
    found: dict[str, Party] = {}
    specs = [
        *((b.number, b.kind, b.name, None) for b in BUSINESSES),
        (TAX_AUTHORITY, PartyKind.ORGANISATION, TAX_AUTHORITY_NAME, None),
    ]
    for number, kind, name, _ in specs:
        existing = directory.by_number(kind, number)
        if existing is not None:
            found[number] = existing
            continue
        # The customer pays pay bill charges, as on most paybills ("Business Bouquet").
        tariff = "customer_bears" if kind == PartyKind.ORGANISATION else None
        party = Party(directory.allocate_id(), kind, name, None, number, tariff=tariff, created=now)
        purposes = (
            (Purpose.TILL,) if kind == PartyKind.MERCHANT else (Purpose.UTILITY, Purpose.WORKING)
        )
        role = Role.MERCHANT if kind == PartyKind.MERCHANT else Role.BILLER
        wanted.append((party, purposes, role, None))
    customer = directory.by_msisdn(TEST_MSISDN)
    if customer is not None:
        found[TEST_MSISDN] = customer
    else:
        party = Party(
            directory.allocate_id(),
            PartyKind.CUSTOMER,
            TEST_CUSTOMER_NAME,
            TEST_MSISDN,
            kyc_tier=tier,
            created=now,
        )
        wanted.append((party, (Purpose.WALLET,), Role.CUSTOMER, customer_pin))
    if not wanted:
        return found
    ledger, currency = profile.ledger, profile.currency.code
    wallet_max = profile.limits(tier).balance_max
    accounts = [
        emoney_account(
            party.id, purpose, ledger, currency, wallet_max if purpose == Purpose.WALLET else None
        )
        for party, purposes, _, _ in wanted
        for purpose in purposes
    ]
    results = await asyncio.wrap_future(services.writer.create_accounts(accounts))
    assert all(result.ok for result in results), results
    change = Change(
        parties=tuple(party for party, _, _, _ in wanted),
        accounts=tuple(
            (party.id, purpose, account_id(party.id, purpose))
            for party, purposes, _, _ in wanted
            for purpose in purposes
        ),
        roles=tuple((party.id, role, 0) for party, _, role, _ in wanted),
        credentials=tuple(
            services.vault.new_credential(party.id, Pin(pin), now)
            for party, _, _, pin in wanted
            if pin is not None
        ),
    )
    await services.writer.submit_async([], attach=change.writes())
    directory.apply(change)
    for party, _, _, _ in wanted:
        found[party.msisdn or party.number or ""] = party
    return found


async def _fund(services: Services, parties: dict[str, Party], now: int) -> None:
    """Issue the demo's e-money against the trust account (idempotent transfer ids)."""
    profile = services.profile(now)
    major = profile.currency.minor_per_major
    trust = account_id(OPERATOR_ID, Purpose.TRUST)
    # No more than the customer's tier may hold: a closed-loop profile (campus) caps
    # wallets far below the Kenyan sandbox's 100,000.
    customer = min(CUSTOMER_MAJOR * major, profile.limits(profile.tiers[-1]).balance_max)
    moves: list[tuple[int, int]] = [(account_id(parties[TEST_MSISDN].id, Purpose.WALLET), customer)]
    for business in BUSINESSES:
        if business.kind != PartyKind.ORGANISATION:
            continue
        amount = STK_FLOAT_MAJOR if business.number == STK_SHORTCODE else ORGANISATION_FLOAT_MAJOR
        party_id = parties[business.number].id
        moves.append((account_id(party_id, Purpose.UTILITY), amount * major))
        moves.append((account_id(party_id, Purpose.WORKING), amount * major))
    transfers = [
        Transfer(transfer_id_base + index, trust, target, amount, profile.ledger)
        for index, (target, amount) in enumerate(moves)
    ]
    results = await services.writer.submit_async(transfers)
    done = (TransferResult.OK, TransferResult.EXISTS)
    assert all(result in done for result in results), results
