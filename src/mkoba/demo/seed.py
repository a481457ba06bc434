"""Demo data for an empty store: a working M-Pesa with people, shops and three weeks of history.

Everyone's PIN is known (see ``PINS``) so that a developer can act as any of
them. The history is made by TranProc itself (deposits, sends, withdrawals)
with the platform clock set in the past, so statements, receipts and the ledger
tell one consistent story.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from mkoba.commands import parse
from mkoba.demo.staff import seed_staff
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
    seal_pin,
)
from mkoba.processor import ids
from mkoba.processor.request import Channel, Request

if TYPE_CHECKING:
    from mkoba.app import Platform

PINS = {"customer": "1357", "agent": "2468", "staff": "9753", "business": "8642"}
CUSTOMERS = 1000
HISTORY_DAYS = 21
FIRST_CUSTOMER = 254712000001

_FIRST = [
    "Wanjiku",
    "Achieng",
    "Otieno",
    "Kamau",
    "Njeri",
    "Mwangi",
    "Akinyi",
    "Kiprono",
    "Chebet",
    "Wafula",
    "Nyambura",
    "Omondi",
    "Atieno",
    "Kipchoge",
    "Wairimu",
    "Mutua",
    "Auma",
    "Kibet",
    "Moraa",
    "Barasa",
    "Nekesa",
    "Ochieng",
    "Jeptoo",
    "Mumbua",
    "Githinji",
    "Adhiambo",
    "Korir",
    "Wambui",
    "Odhiambo",
    "Nafula",
]
_LAST = [
    "Kamau",
    "Otieno",
    "Mwangi",
    "Ochieng",
    "Njoroge",
    "Kiptoo",
    "Wanjala",
    "Mutiso",
    "Onyango",
    "Kariuki",
    "Chepkoech",
    "Odera",
    "Macharia",
    "Wekesa",
    "Nyaga",
    "Kimani",
    "Owino",
    "Rotich",
    "Maina",
    "Ndirangu",
    "Juma",
    "Mohamed",
    "Hassan",
    "Omollo",
    "Koech",
    "Gitau",
    "Muriuki",
    "Were",
    "Simiyu",
    "Langat",
]


class Seeded(NamedTuple):
    """A demo party: who, its number, the accounts it holds."""

    party: Party
    purposes: tuple[Purpose, ...]
    roles: tuple[tuple[Role, int], ...] = ()
    pin: str | None = None


def businesses(next_id: Sequence[int], now: int) -> list[Seeded]:
    """The super-agent, agents, stores, assistants, merchants, billers and staff."""
    numbers = iter(next_id)
    people: list[Seeded] = []

    def add(
        kind: PartyKind,
        name: str,
        msisdn: str | None,
        number: str | None,
        purposes: tuple[Purpose, ...],
        parent: int = 0,
        roles: tuple[Role, ...] = (),
        pin: str | None = None,
        tariff: str | None = None,
    ) -> int:
        party_id = next(numbers)
        party = Party(party_id, kind, name, msisdn, number, parent, tariff=tariff, created=now)
        people.append(Seeded(party, purposes, tuple((role, parent) for role in roles), pin))
        return party_id

    add(
        PartyKind.SUPER_AGENT,
        "Equity Agency Services",
        "254711000001",
        "SA100",
        (Purpose.FLOAT,),
        roles=(Role.SUPER_AGENT,),
        pin=PINS["agent"],
    )
    offices = [
        ("Mama Mboga Ventures", "123456", "254711000010"),
        ("Jirani Agencies", "234567", "254711000020"),
    ]
    for office, (name, agent_number, msisdn) in enumerate(offices):
        office_id = add(
            PartyKind.AGENT_HEAD_OFFICE,
            name,
            msisdn,
            agent_number,
            (Purpose.COMMISSION,),
            roles=(Role.AGENT_OWNER,),
            pin=PINS["agent"],
        )
        for store in (1, 2):
            store_msisdn = f"2547111{office}{store:04d}"
            store_id = add(
                PartyKind.AGENT_STORE,
                f"{name.split()[0]} Shop {store}",
                store_msisdn,
                f"{agent_number}/{store}",
                (Purpose.FLOAT,),
                parent=office_id,
                roles=(Role.AGENT_OPERATOR,),
                pin=PINS["agent"],
            )
            add(
                PartyKind.AGENT_ASSISTANT,
                f"Assistant {office}{store}",
                f"2547112{office}{store:04d}",
                None,
                (),
                parent=store_id,
                roles=(Role.AGENT_ASSISTANT,),
                pin=PINS["agent"],
            )
    for till, name, msisdn in (
        ("300100", "Naivas Supermarket", "254711300100"),
        ("300200", "Java House", "254711300200"),
        ("300300", "Kibanda Fresh Produce", "254711300300"),
    ):
        add(
            PartyKind.MERCHANT,
            name,
            msisdn,
            till,
            (Purpose.TILL,),
            roles=(Role.MERCHANT,),
            pin=PINS["business"],
        )
    for paybill, name, tariff in (
        ("888880", "Kenya Power", "customer_bears"),
        ("444400", "Nairobi Water", "business_bears"),
        ("555500", "Greenfield Academy", "shared"),
    ):
        add(
            PartyKind.ORGANISATION,
            name,
            None,
            paybill,
            (Purpose.UTILITY, Purpose.WORKING),
            roles=(Role.BILLER,),
            tariff=tariff,
        )
    for role, name, username, msisdn in (
        (Role.CUSTOMER_CARE, "Achieng Care", "achieng", "254711900001"),
        (Role.OPERATIONS, "Baraka Ops", "baraka", "254711900002"),
        (Role.COMPLIANCE, "Chebet Compliance", "chebet", "254711900003"),
        (Role.ADMIN, "Daudi Admin", "daudi", "254711900004"),
    ):
        add(PartyKind.STAFF, name, msisdn, username, (), roles=(role,), pin=PINS["staff"])
    return people


def customers(first_id: int, count: int, tier: str, now: int) -> list[Seeded]:
    """``count`` customers with Kenyan names on 0712 000 001 onwards."""
    chooser = random.Random(254)
    people = []
    for index in range(count):
        name = f"{chooser.choice(_FIRST)} {chooser.choice(_LAST)}"
        party = Party(
            first_id + index,
            PartyKind.CUSTOMER,
            name,
            str(FIRST_CUSTOMER + index),
            kyc_tier=tier,
            language="sw" if index % 5 == 0 else "en",
            created=now,
        )
        people.append(Seeded(party, (Purpose.WALLET,), ((Role.CUSTOMER, 0),), PINS["customer"]))
    return people


async def _register(platform: Platform, people: list[Seeded], tier: str) -> None:
    services = platform.services
    profile = services.profile(platform.clock())
    ledger, currency = profile.ledger, profile.currency.code
    wallet_max = profile.limits(tier).balance_max
    accounts = [
        emoney_account(
            seeded.party.id,
            purpose,
            ledger,
            currency,
            wallet_max if purpose == Purpose.WALLET else None,
        )
        for seeded in people
        for purpose in seeded.purposes
    ]
    for start in range(0, len(accounts), 4096):
        results = await asyncio.wrap_future(
            services.writer.create_accounts(accounts[start : start + 4096])
        )
        assert all(result.ok for result in results), results
    now = platform.clock()
    change = Change(
        parties=tuple(seeded.party for seeded in people),
        accounts=tuple(
            (seeded.party.id, purpose, account_id(seeded.party.id, purpose))
            for seeded in people
            for purpose in seeded.purposes
        ),
        roles=tuple(
            (seeded.party.id, role, scope) for seeded in people for role, scope in seeded.roles
        ),
        credentials=tuple(
            services.vault.new_credential(seeded.party.id, Pin(seeded.pin), now)
            for seeded in people
            if seeded.pin is not None
        ),
    )
    await services.writer.submit_async([], attach=change.writes())
    services.directory.apply(change)


async def _issue(platform: Platform, moves: list[tuple[int, int, int]]) -> None:
    """Move e-money directly in the ledger (issuance against the trust account, float)."""
    services = platform.services
    ledger = services.profile(platform.clock()).ledger
    transfers = [
        Transfer(ids.leg_id(services.counter.next(), 0, "direct"), debit, credit, amount, ledger)
        for debit, credit, amount in moves
    ]
    results = await services.writer.submit_async(transfers)
    assert all(result is TransferResult.OK for result in results), results


async def seed(platform: Platform) -> None:
    """Load the demo world into an empty store."""
    services = platform.services
    clock = platform.clock
    now = clock()
    start = now - HISTORY_DAYS * 86_400 * 1_000_000_000
    clock.fixed = start
    try:
        profile = services.profile(start)
        tier = profile.tiers[-1]
        people = businesses(range(services.directory.allocate_id(), 10**9), start)
        for _ in people[1:]:
            services.directory.allocate_id()
        await _register(platform, people, tier)
        first = services.directory.allocate_id()
        crowd = customers(first, CUSTOMERS, tier, start)
        for _ in crowd[1:]:
            services.directory.allocate_id()
        await _register(platform, crowd, tier)
        await _fund(platform, people)
        await _history(platform, people, crowd, start, now)
        await _restock(platform, people)
        await seed_staff(services.store, services.writer, platform.settings.keys_dir, now)
    finally:
        clock.fixed = None


async def _restock(platform: Platform, people: list[Seeded]) -> None:
    """Top every store's float back up from the super-agent: the history's deposits drain it."""
    services = platform.services
    major = services.profile(platform.clock()).currency.minor_per_major
    target = 1_000_000 * major
    super_agent = next(s.party for s in people if s.party.kind == PartyKind.SUPER_AGENT)
    super_float = account_id(super_agent.id, Purpose.FLOAT)
    stores = [
        account_id(s.party.id, Purpose.FLOAT)
        for s in people
        if s.party.kind == PartyKind.AGENT_STORE
    ]
    balances = await asyncio.wrap_future(services.writer.balances(stores))
    moves = [
        (super_float, store, target - balance.available)
        for store, balance in zip(stores, balances, strict=True)
        if balance is not None and balance.available < target
    ]
    if moves:
        await _issue(platform, moves)


async def _fund(platform: Platform, people: list[Seeded]) -> None:
    trust = account_id(OPERATOR_ID, Purpose.TRUST)
    fees = account_id(OPERATOR_ID, Purpose.FEES)
    currency = platform.services.profile(platform.clock()).currency
    major = currency.minor_per_major
    super_agent = next(s.party for s in people if s.party.kind == PartyKind.SUPER_AGENT)
    super_float = account_id(super_agent.id, Purpose.FLOAT)
    moves = [(trust, super_float, 50_000_000 * major), (trust, fees, 1_000_000 * major)]
    for seeded in people:
        if seeded.party.kind == PartyKind.AGENT_STORE:
            moves.append(
                (super_float, account_id(seeded.party.id, Purpose.FLOAT), 1_000_000 * major)
            )
    await _issue(platform, moves)


async def _history(
    platform: Platform, people: list[Seeded], crowd: list[Seeded], start: int, end: int
) -> None:
    """Three weeks of deposits, sends and withdrawals, a day at a time, through TranProc."""
    chooser = random.Random(2007)
    stores = [s.party for s in people if s.party.kind == PartyKind.AGENT_STORE]
    day_ns = 86_400 * 1_000_000_000
    for day in range(HISTORY_DAYS):
        requests = []
        for seeded in chooser.sample(crowd, 60):
            store = chooser.choice(stores)
            msisdn = seeded.party.msisdn or ""
            requests.append(
                (
                    "deposit",
                    store.msisdn or "",
                    PINS["agent"],
                    {"to": msisdn, "amount": str(chooser.randrange(5, 200) * 100)},
                )
            )
            friend = chooser.choice(crowd).party.msisdn or ""
            if friend != msisdn:
                requests.append(
                    (
                        "send_money",
                        msisdn,
                        PINS["customer"],
                        {"to": friend, "amount": str(chooser.randrange(1, 40) * 50)},
                    )
                )
            if chooser.random() < 0.3:
                agent, number = (store.number or "1/1").split("/")
                requests.append(
                    (
                        "withdraw",
                        msisdn,
                        PINS["customer"],
                        {
                            "agent": agent,
                            "store": number,
                            "amount": str(chooser.randrange(2, 20) * 100),
                        },
                    )
                )
        opening = start + day * day_ns + 8 * 3600 * 1_000_000_000
        step = 10 * 3600 * 1_000_000_000 // max(1, len(requests))
        for chunk in range(0, len(requests), _CHUNK):
            platform.clock.fixed = min(end - 1, opening + chunk * step)
            await asyncio.gather(
                *(
                    _replay(platform, f"demo:{day}:{chunk + index}", *entry)
                    for index, entry in enumerate(requests[chunk : chunk + _CHUNK])
                )
            )


# Requests of the history made at the same moment, concurrently (group commit).
_CHUNK = 8


async def _replay(
    platform: Platform, request_id: str, product: str, msisdn: str, pin: str, params: dict[str, str]
) -> None:
    sealed = seal_pin(Pin(pin), platform.transport_key, request_id.encode())
    command = parse(product, params, platform.services.profile(platform.clock()))
    request = Request(request_id, Channel.SYSTEM, product, msisdn, command, sealed)
    await platform.processor.handle(request)
