"""``/staff/v1/customers``: find a customer, and see them whole (the customer 360).

Search by phone number, by ID number (matched by its keyed digest: mkoba never
stores the number) or by a receipt (both of its parties). The 360 shows the KYC
tier, the state, each account's balance and holds, the PIN's state, the newest
statement lines, the staff commands on them and their care tickets; a full
statement covers any range of days, as CSV or PDF. Names and numbers are masked
unless the role may see personal data unmasked (``customer_unmasked``). Every
search, view and statement is in the audit trail, with the parties it showed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from mkoba.channels.console.actions import pin_state
from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.parties import (
    InvalidMsisdn,
    Party,
    PartyKind,
    local_msisdn,
    mask_msisdn,
    mask_name,
    normalize_msisdn,
)
from mkoba.processor import history
from mkoba.staff import commands as book
from mkoba.staff.policy import Mode
from mkoba.statements import render as statements

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

# Parties one search shows at most (one ID document may hold a few lines).
matches_max = 20
statement_lines = 20
tickets_shown = 10
query_chars_max = 64


class Match(BaseModel):
    """One party a search found."""

    id: int
    kind: str
    name: str
    phone: str
    state: str


class AccountOut(BaseModel):
    """One of the party's ledger accounts: what it holds and what is held on it."""

    purpose: str
    account: int
    balance: int
    held: int
    incoming: int


class LineOut(BaseModel):
    """One statement line."""

    at: int
    receipt: str
    description: str
    amount: int
    balance: int


class CommandRef(BaseModel):
    """A staff command on this party."""

    id: int
    product: str
    state: str
    summary: str


class TicketRef(BaseModel):
    """A care ticket of this party."""

    id: int
    category: str
    state: str
    opened: int
    due: int


class Customer360(BaseModel):
    """A party seen whole."""

    id: int
    kind: str
    name: str
    phone: str
    state: str
    kyc_tier: str | None
    language: str
    id_on_record: bool
    registered: int
    unmasked: bool
    pin: str
    accounts: list[AccountOut]
    statement: list[LineOut]
    commands: list[CommandRef]
    tickets: list[TicketRef]


def router(console: ConsoleChannel) -> APIRouter:
    """The customer routes over ``console``."""
    api = APIRouter(prefix="/staff/v1/customers", tags=["customers"])

    async def allowed(http: Request) -> tuple[Caller, bool]:
        who = await caller(console, http)
        return who, may_look(console, who)

    @api.get("", response_model=list[Match])
    async def search(
        http: Request,
        by: Literal["phone", "id", "receipt"],
        q: str = Query(min_length=1, max_length=query_chars_max, pattern=r"^[A-Za-z0-9 +-]+$"),
    ) -> list[Match]:
        """Parties by phone number, ID number or receipt."""
        who, unmasked = await allowed(http)
        found = await search_parties(console, by, q)
        detail: dict[str, object] = {"by": by, "found": [p.id for p in found]}
        await record(console, who, origin(http), "customer.search", detail=detail)
        return [as_match(party, unmasked) for party in found[:matches_max]]

    @api.get("/{party_id}", response_model=Customer360, responses={404: {}})
    async def view(party_id: int, http: Request) -> Customer360:
        """One party whole: tier, state, balances and holds, PIN, statement, commands."""
        who, unmasked = await allowed(http)
        party = console.reads.directory.get(party_id)
        if party is None or party.kind in (PartyKind.OPERATOR, PartyKind.STAFF):
            raise Refusal(404, f"There is no customer {party_id}.")
        whole = await seen_whole(console, party, unmasked)
        await record(
            console,
            who,
            origin(http),
            "customer.view",
            entity=f"party:{party.id}",
            detail={"unmasked": unmasked},
        )
        return whole

    @api.get(
        "/{party_id}/statement",
        response_class=Response,
        responses={
            200: {"content": {"text/csv": {}, "application/pdf": {}}},
            404: {},
            422: {},
        },
    )
    async def statement(
        party_id: int,
        http: Request,
        start: dt.date,
        end: dt.date,
        format: Literal["csv", "pdf"] = "csv",
    ) -> Response:
        """A full statement for ``start`` to ``end`` (local days, at most a year), CSV or PDF."""
        who, unmasked = await allowed(http)
        party = console.reads.directory.get(party_id)
        if party is None or party.kind in (PartyKind.OPERATOR, PartyKind.STAFF):
            raise Refusal(404, f"There is no customer {party_id}.")
        return await full_statement(console, who, http, party, unmasked, start, end, format)

    return api


async def full_statement(
    console: ConsoleChannel,
    who: Caller,
    http: Request,
    party: Party,
    unmasked: bool,
    start: dt.date,
    end: dt.date,
    kind: str,
) -> Response:
    """A party's statement as a download, audited with its range."""
    if end < start:
        raise Refusal(422, "end: on or after start")
    if (end - start).days >= statements.range_days_max:
        raise Refusal(422, f"A statement covers at most {statements.range_days_max} days.")
    profile = console.ports.profile()
    zone = profile.timezone
    since, until = statements.days_ns(zone, start, end)
    opening, lines = await asyncio.to_thread(
        history.statement_between, console.tables, party.id, since, until, statements.lines_max
    )
    name, phone = _shown(party, unmasked)
    found = statements.Statement(name, phone, start, end, opening, lines)
    detail: dict[str, object] = {"start": start.isoformat(), "end": end.isoformat(), "format": kind}
    await record(
        console, who, origin(http), "customer.statement", entity=f"party:{party.id}", detail=detail
    )
    filename = f"statement-{party.id}-{start.isoformat()}-{end.isoformat()}.{kind}"
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }
    if kind == "pdf":
        body = await asyncio.to_thread(
            statements.as_pdf, found, profile.currency, zone, profile.name
        )
        return Response(body, media_type="application/pdf", headers=headers)
    body = statements.as_csv(found, profile.currency, zone)
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


def may_look(console: ConsoleChannel, who: Caller) -> bool:
    """Whether ``who`` sees personal data unmasked; ``Refusal`` when they may not look at all."""
    role = who.account.role
    if not console.policy.may(role, "customer_view", Mode.VIEW):
        raise Refusal(403, "Your role may not look customers up.")
    return console.policy.may(role, "customer_unmasked", Mode.VIEW)


async def search_parties(console: ConsoleChannel, by: str, q: str) -> list[Party]:
    """Parties by phone number, ID number or receipt (``Refusal`` for a bad number)."""
    directory = console.reads.directory
    if by == "phone":
        try:
            msisdn = normalize_msisdn(q, console.ports.profile().country)
        except InvalidMsisdn as problem:
            raise Refusal(422, f"q: {problem}") from None
        party = directory.by_msisdn(msisdn)
        return [party] if party is not None else []
    if by == "id":
        return directory.by_id_digest(console.reads.id_digest(q))
    found = await asyncio.to_thread(history.receipt, console.tables, q.strip().upper())
    if found is None:
        return []
    ids = dict.fromkeys((found.payer_id, found.payee_id))
    parties = [directory.get(party_id) for party_id in ids]
    return [
        p for p in parties if p is not None and p.kind not in (PartyKind.OPERATOR, PartyKind.STAFF)
    ]


def _shown(party: Party, unmasked: bool) -> tuple[str, str]:
    """A party's name and number, as this caller may see them."""
    if party.msisdn is None:
        return party.name, ""  # a business's name is not personal data
    if unmasked:
        return party.name, local_msisdn(party.msisdn)
    return mask_name(party.name), mask_msisdn(party.msisdn)


def as_match(party: Party, unmasked: bool) -> Match:
    """A found party, masked unless ``unmasked``."""
    name, phone = _shown(party, unmasked)
    return Match(
        id=party.id, kind=party.kind.value, name=name, phone=phone, state=party.state.value
    )


async def seen_whole(console: ConsoleChannel, party: Party, unmasked: bool) -> Customer360:
    """A party whole, as a caller who may (or may not) see personal data sees it."""
    reads = console.reads
    owned = reads.directory.accounts_of(party.id)
    balances = await console.tables.balances(list(owned.values()))
    accounts = [
        AccountOut(
            purpose=purpose.name.lower(),
            account=account,
            balance=found.credits_posted - found.debits_posted if found else 0,
            held=found.debits_pending if found else 0,
            incoming=found.credits_pending if found else 0,
        )
        for (purpose, account), found in zip(owned.items(), balances, strict=True)
    ]
    lines = await asyncio.to_thread(history.statement, console.tables, party.id, statement_lines)
    entities = [f"pin:{party.msisdn}", f"wallet:{party.msisdn}"] if party.msisdn else []
    commands = []
    for entity in entities:
        commands.extend(await console.read(book.on_entity, entity, 10))
    commands.sort(key=lambda command: -command.id)
    name, phone = _shown(party, unmasked)
    return Customer360(
        id=party.id,
        kind=party.kind.value,
        name=name,
        phone=phone,
        state=party.state.value,
        kyc_tier=party.kyc_tier,
        language=party.language,
        id_on_record=party.id_digest is not None,
        registered=party.created,
        unmasked=unmasked,
        pin=pin_state(reads, party),
        accounts=accounts,
        statement=[
            LineOut(
                at=line.at,
                receipt=line.receipt,
                description=line.description,
                amount=line.amount,
                balance=line.balance,
            )
            for line in lines
        ],
        commands=[
            CommandRef(id=c.id, product=c.product, state=c.state, summary=c.summary)
            for c in commands
        ],
        tickets=[
            TicketRef(id=t.id, category=t.category, state=t.state, opened=t.opened, due=t.due)
            for t in await reads.tickets.of_party(party.id, tickets_shown)
        ],
    )
