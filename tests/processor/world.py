"""A small world for TranProc tests: a running platform, its parties, and a channel's client.

Customers are registered and funded through TranProc itself (``register``,
then a ``deposit`` at the world's agent store). What the core products cannot
create (the operator's commission money, agents, merchants, billers) is set up
the way the operator's tooling does: directory changes and ledger issuance
through the writer, the single write path.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mkoba.app import Platform
from mkoba.catalog import CHANNELS
from mkoba.ledger import (
    Account,
    AccountFlags,
    AccountKind,
    Balance,
    Transfer,
    TransferFlags,
    TransferResult,
)
from mkoba.parties import (
    OPERATOR_ID,
    Change,
    Party,
    PartyKind,
    PartyState,
    Pin,
    Purpose,
    Role,
    account_id,
    seal_pin,
)
from mkoba.processor import ids
from mkoba.processor.codes import Code
from mkoba.processor.proof import Proof, proof_of
from mkoba.processor.request import Channel, Request, Response
from mkoba.products import all_products
from mkoba.settings import Settings

KSH = 100  # minor units per shilling
CUSTOMER_PIN = "1357"
AGENT_PIN = "2468"
BUSINESS_PIN = "8642"
TRUST = account_id(OPERATOR_ID, Purpose.TRUST)
FEES = account_id(OPERATOR_ID, Purpose.FEES)
EXCISE = account_id(OPERATOR_ID, Purpose.EXCISE)


def fast_profile(folder: Path, deadline_s: int = 2) -> Path:
    """The Kenya profile with every delivery deadline ``deadline_s`` (Daraja keeps none)."""
    text = resources.files("mkoba.catalog").joinpath("profiles", "kenya.yaml").read_text("utf-8")
    document = yaml.safe_load(text)
    first = document["versions"][0]
    assert "deadlines_s" in first
    assert all("deadlines_s" not in version for version in document["versions"][1:])
    first["deadlines_s"] = {
        channel: 0 if channel == "daraja" else deadline_s for channel in CHANNELS
    }
    document["name"] = "kenya_fast"
    path = folder / "kenya_fast.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    return path


def settings_for(
    url: str, folder: Path, *, profile: str | Path = "kenya", demo: bool = False
) -> Settings:
    """Settings for a test platform: its store, keys in ``folder``, no demo data by default."""
    return Settings(db=url, keys_dir=folder / "keys", profile=str(profile), demo=demo)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Platform]:
    """A started platform, stopped (and its store closed) afterwards."""
    platform = Platform(settings)
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()


# Products only the phone itself may ask for (``Proof.NETWORK``).
PHONE_ONLY = frozenset(
    name for name, product in all_products().items() if proof_of(product) is Proof.NETWORK
)


# Channels whose gateway says which phone asks.
PHONE_CHANNELS = frozenset({Channel.USSD, Channel.SMS, Channel.STK})


def request_of(
    platform: Platform,
    product: str,
    msisdn: str,
    pin: str | None = None,
    /,
    *,
    channel: Channel = Channel.API,
    request_id: str | None = None,
    new_pin: str | None = None,
    phone: bool | None = None,
    **params: str,
) -> Request:
    """A request as a channel adapter builds it: PINs sealed for this request id.

    ``phone``: the channel knows the caller's phone (default: on USSD, SMS and STK, as
    their gateways say which phone asks, and for the products only a phone may ask for).
    """
    rid = request_id or f"test:{uuid.uuid4().hex}"
    sealed = seal_pin(Pin(pin), platform.transport_key, rid.encode()) if pin is not None else None
    if new_pin is not None:
        blob = seal_pin(Pin(new_pin), platform.transport_key, rid.encode() + b":new").blob
        params["sealed_new_pin"] = base64.b64encode(blob).decode()
    verified = (product in PHONE_ONLY or channel in PHONE_CHANNELS) if phone is None else phone
    return Request(rid, channel, product, msisdn, dict(params), sealed, time.time_ns(), verified)


async def call(
    platform: Platform,
    product: str,
    msisdn: str,
    pin: str | None = None,
    /,
    *,
    channel: Channel = Channel.API,
    ack: bool = True,
    request_id: str | None = None,
    new_pin: str | None = None,
    phone: bool | None = None,
    **params: str,
) -> Response:
    """Send a request through the bus; acknowledge delivery of a success, as the API does."""
    request = request_of(
        platform,
        product,
        msisdn,
        pin,
        channel=channel,
        request_id=request_id,
        new_pin=new_pin,
        phone=phone,
        **params,
    )
    response = await platform.request(request)
    if ack and response.ok:
        await platform.acknowledge(request.id)
    return response


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0, what: str = "condition"
) -> None:
    """Wait until ``check`` holds; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def rows(platform: Platform, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on the platform's store."""
    return await asyncio.to_thread(platform.services.store.query, sql, params)


async def balance(platform: Platform, account: int) -> Balance:
    """An account's balance as of everything committed so far."""
    (found,) = await asyncio.wrap_future(platform.writer.balances([account]))
    assert found is not None, account
    return found


async def available(platform: Platform, account: int) -> int:
    """What an account may spend now (posted credits less posted and pending debits)."""
    return (await balance(platform, account)).available


async def request_state(platform: Platform, request_id: str) -> tuple[int, str, str, str | None]:
    """A stored request: its number, status, code and its receipt's status (None if none)."""
    found = await rows(
        platform,
        "SELECT r.number, r.status, r.code, c.status FROM requests AS r"
        " LEFT JOIN receipts AS c ON c.number = r.number WHERE r.id = ?",
        (request_id,),
    )
    assert len(found) == 1, (request_id, found)
    number, status, code, receipt = found[0]
    return int(number), status, code, receipt


async def ledger_legs(platform: Platform, number: int) -> Counter[str]:
    """How many of request ``number``'s ledger transfers are of each kind."""
    low, high = number * 32, number * 32 + 32
    found = await rows(
        platform,
        "SELECT flags FROM ledger_transfers WHERE (id >= ? AND id < ?)"
        " OR (pending_id >= ? AND pending_id < ?)",
        (low, high, low, high),
    )
    kinds: Counter[str] = Counter()
    for (flags,) in found:
        kinds[_kind(TransferFlags(int(flags)))] += 1
    return kinds


def _kind(flags: TransferFlags) -> str:
    for flag, name in (
        (TransferFlags.PENDING, "pending"),
        (TransferFlags.POST_PENDING, "post"),
        (TransferFlags.VOID_PENDING, "void"),
        (TransferFlags.EXPIRY, "expiry"),
    ):
        if flags & flag:
            return name
    return "direct"


def inbox(platform: Platform, msisdn: str) -> list[str]:
    """The texts delivered to ``msisdn`` so far."""
    return [sms.body for sms in platform.smsc.inbox(msisdn)]


async def issue(platform: Platform, account: int, amount: int) -> None:
    """Issue e-money against the trust account (money the operator's bank received)."""
    services = platform.services
    ledger = services.profile(platform.clock()).ledger
    number = services.counter.next()
    transfer = Transfer(ids.leg_id(number, 0, "direct"), TRUST, account, amount, ledger)
    (result,) = await asyncio.wrap_future(services.writer.submit([transfer]))
    assert result is TransferResult.OK, result


class World:
    """Parties for one test module, on one running platform."""

    _numbers = itertools.count(254_722_100_001)

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.store: Party | None = None

    @property
    def agent_store(self) -> Party:
        """The store that funds customers (set up by ``setup``)."""
        assert self.store is not None, "call setup() first"
        return self.store

    def msisdn(self) -> str:
        """A valid Kenyan mobile number nobody in this world uses yet."""
        return str(next(self._numbers))

    async def setup(self) -> World:
        """Money for commissions in fee income, and an agent store with float for deposits."""
        await issue(self.platform, FEES, 10_000_000 * KSH)
        _, self.store, _ = await self.agent(100_000_000 * KSH)
        return self

    async def add_party(
        self,
        kind: PartyKind,
        name: str,
        *,
        msisdn: str | None = None,
        number: str | None = None,
        parent: int = 0,
        purposes: tuple[Purpose, ...] = (),
        roles: tuple[Role, ...] = (),
        pin: str | None = None,
        tier: str | None = None,
    ) -> Party:
        """A party with its accounts, roles and PIN, committed and in the directory."""
        services = self.platform.services
        now = self.platform.clock()
        profile = services.profile(now)
        party_id = services.directory.allocate_id()
        accounts = [
            Account(
                id=account_id(party_id, purpose),
                ledger=profile.ledger,
                currency=profile.currency.code,
                kind=AccountKind.EMONEY,
                flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
                balance_max=profile.limits(tier).balance_max if tier else None,
                code=int(purpose),
                user_data=party_id,
            )
            for purpose in purposes
        ]
        if accounts:
            results = await asyncio.wrap_future(services.writer.create_accounts(accounts))
            assert all(result.ok for result in results), results
        party = Party(party_id, kind, name, msisdn, number, parent, kyc_tier=tier, created=now)
        change = Change(
            parties=(party,),
            accounts=tuple((party_id, Purpose(a.code), a.id) for a in accounts),
            roles=tuple((party_id, role, parent) for role in roles),
            credentials=(services.vault.new_credential(party_id, Pin(pin), now),) if pin else (),
        )
        await asyncio.wrap_future(services.writer.submit([], attach=change.writes()))
        services.directory.apply(change)
        return party

    async def agent(self, float_minor: int) -> tuple[Party, Party, Party]:
        """A head office, one store holding ``float_minor`` of float, and its assistant."""
        number = str(next(self._numbers))[-6:]
        office = await self.add_party(
            PartyKind.AGENT_HEAD_OFFICE,
            f"Office {number}",
            msisdn=self.msisdn(),
            number=number,
            purposes=(Purpose.COMMISSION,),
            roles=(Role.AGENT_OWNER,),
            pin=AGENT_PIN,
        )
        store = await self.add_party(
            PartyKind.AGENT_STORE,
            f"Shop {number}",
            msisdn=self.msisdn(),
            number=f"{number}/1",
            parent=office.id,
            purposes=(Purpose.FLOAT,),
            roles=(Role.AGENT_OPERATOR,),
            pin=AGENT_PIN,
        )
        assistant = await self.add_party(
            PartyKind.AGENT_ASSISTANT,
            f"Assistant {number}",
            msisdn=self.msisdn(),
            parent=store.id,
            roles=(Role.AGENT_ASSISTANT,),
            pin=AGENT_PIN,
        )
        if float_minor:
            await issue(self.platform, account_id(store.id, Purpose.FLOAT), float_minor)
        return office, store, assistant

    async def set_state(self, party: Party, state: PartyState) -> Party:
        """Freeze, close or reactivate a party, as customer care would."""
        changed = party._replace(state=state)
        change = Change(parties=(changed,))
        services = self.platform.services
        await asyncio.wrap_future(services.writer.submit([], attach=change.writes()))
        services.directory.apply(change)
        return changed

    async def customer(
        self,
        balance_ksh: int = 0,
        *,
        tier: str = "full",
        pin: str = CUSTOMER_PIN,
        language: str = "en",
        name: str = "Amina Wanjiru",
    ) -> Party:
        """A customer registered through TranProc, then funded by a deposit at the agent."""
        msisdn = self.msisdn()
        response = await call(
            self.platform,
            "register",
            msisdn,
            pin,
            name=name,
            id_number=f"ID{msisdn[-8:]}",
            tier=tier,
            language=language,
        )
        assert response.code is Code.OK, response
        party = self.platform.services.directory.by_msisdn(msisdn)
        assert party is not None
        if balance_ksh:
            await self.deposit(party, balance_ksh * KSH)
        return party

    async def deposit(self, party: Party, amount: int) -> Response:
        """Cash in ``amount`` (minor units) for ``party`` at the world's agent store."""
        store = self.agent_store
        assert store.msisdn is not None and party.msisdn is not None
        response = await call(
            self.platform,
            "deposit",
            store.msisdn,
            AGENT_PIN,
            to=party.msisdn,
            amount=f"{amount // KSH}.{amount % KSH:02d}",
        )
        assert response.code is Code.OK, response
        return response


def wallet(party: Party) -> int:
    """A customer's wallet account."""
    return account_id(party.id, Purpose.WALLET)
