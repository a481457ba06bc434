"""One small world for platform tests: a running platform, its parties, a client to ask it.

Customers register through TranProc (``register``); agents, merchants, billers and
staff are set up as the operator's tooling does: directory changes and ledger
issuance through the writer, the single write path. Requests go through the bus,
with PINs sealed per request as channel adapters seal them.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from typing import Any, NamedTuple

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.commands import BadCommand, parse
from mkoba.ledger import Account, AccountFlags, AccountKind, Transfer, TransferResult, open_store
from mkoba.ledger.reconcile import reconcile
from mkoba.outbox.sealing import SCRUBBED, is_sealed
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
from mkoba.processor import history, ids
from mkoba.processor.proof import Proof, proof_of
from mkoba.processor.request import Channel, Request, Response, Staff
from mkoba.products import all_products

KSH = 100  # minor units per shilling
CUSTOMER_PIN = "1357"
AGENT_PIN = "2468"
STAFF_PIN = "9753"
BUSINESS_PIN = "8642"
TRUST = account_id(OPERATOR_ID, Purpose.TRUST)
FEES = account_id(OPERATOR_ID, Purpose.FEES)
EXCISE = account_id(OPERATOR_ID, Purpose.EXCISE)
VOUCHERS = account_id(OPERATOR_ID, Purpose.VOUCHERS)
AIRTIME = account_id(OPERATOR_ID, Purpose.AIRTIME)


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
    Its fields are parsed into the product's command as a channel's edge parses them:
    ``BadCommand`` when they do not parse (``World.ask`` answers it as the channel does).
    """
    rid = request_id or f"test:{uuid.uuid4().hex}"
    command = parse(product, params, platform.services.profile(platform.clock()))
    key = platform.transport_key
    sealed = seal_pin(Pin(pin), key, rid.encode()) if pin is not None else None
    renewed = seal_pin(Pin(new_pin), key, rid.encode() + b":new") if new_pin is not None else None
    verified = (product in PHONE_ONLY or channel in PHONE_CHANNELS) if phone is None else phone
    return Request(
        rid, channel, product, msisdn, command, sealed, time.time_ns(), verified, new_pin=renewed
    )


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
    """Send a request through the bus; acknowledge delivery of a success, as the API does.

    Fields that do not parse are refused as a channel's edge refuses them.
    """
    try:
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
    except BadCommand as bad:
        return Response(request_id or "", bad.code, bad.message)
    response = await platform.request(request)
    if ack and response.ok:
        await platform.acknowledge(request.id)
    return response


# A console action made by first-line care and approved by the back office.
CARE = Staff("care.one", "care_l1", "care.two")


async def by_staff(
    platform: Platform,
    product: str,
    staff: Staff = CARE,
    /,
    *,
    request_id: str | None = None,
    **params: str,
) -> Response:
    """A request the operator console sends for ``staff`` (signed in, checked as its policy says).

    Fields that do not parse are refused as the console's edge refuses them.
    """
    rid = request_id or f"test:{uuid.uuid4().hex}"
    try:
        request = staff_request(platform, product, staff, rid, **params)
    except BadCommand as bad:
        return Response(rid, bad.code, bad.message)
    return await platform.request(request)


def staff_request(
    platform: Platform, product: str, staff: Staff, request_id: str, /, **params: str
) -> Request:
    """A request as the operator console builds it (``BadCommand`` when fields do not parse)."""
    command = parse(product, params, platform.services.profile(platform.clock()))
    return Request(
        request_id,
        Channel.STAFF,
        product,
        f"staff:{staff.maker}",
        command,
        received=time.time_ns(),
        staff=staff,
    )


class Sms(NamedTuple):
    """An outbox row: who gets it and what it says."""

    recipient: str
    body: str


class World:
    """Parties for one test module, on one running platform, and a client to ask TranProc.

    Customers get their money as the operator's tooling issues it (trust account to
    wallet), or, once ``setup`` gave the world an agent store, by a deposit there.
    """

    _numbers = itertools.count(254_713_000_001)
    _codes = itertools.count(700_001)

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.services = platform.services
        self.store: Party | None = None

    @property
    def agent_store(self) -> Party:
        """The store that funds customers (set up by ``setup``)."""
        assert self.store is not None, "call setup() first"
        return self.store

    async def setup(self) -> World:
        """Money for commissions in fee income, and an agent store with float for deposits."""
        await self.issue(FEES, 10_000_000 * KSH)
        _, self.store, _ = await self.agent_with_assistant(100_000_000 * KSH)
        return self

    # -- parties --------------------------------------------------------------------

    def msisdn(self) -> str:
        """A valid Kenyan mobile number nobody in this world uses yet."""
        return str(next(self._numbers))

    def number(self) -> str:
        """A fresh business number (agent, till, paybill)."""
        return str(next(self._codes))

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
        tariff: str | None = None,
        id_number: str | None = None,
        language: str = "en",
        role_scope: int = 0,
    ) -> Party:
        """A party with its accounts, roles (within ``role_scope``) and PIN, committed."""
        services = self.services
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
        digest = services.vault.id_digest(id_number) if id_number else None
        party = Party(
            party_id,
            kind,
            name,
            msisdn,
            number,
            parent,
            kyc_tier=tier,
            language=language,
            tariff=tariff,
            created=now,
            id_digest=digest,
        )
        change = Change(
            parties=(party,),
            accounts=tuple((party_id, Purpose(a.code), a.id) for a in accounts),
            roles=tuple((party_id, role, role_scope) for role in roles),
            credentials=(services.vault.new_credential(party_id, Pin(pin), now),) if pin else (),
        )
        await asyncio.wrap_future(services.writer.submit([], attach=change.writes()))
        services.directory.apply(change)
        return party

    async def customer(
        self,
        balance_ksh: int = 0,
        *,
        tier: str | None = None,
        pin: str = CUSTOMER_PIN,
        name: str = "Amina Wanjiru",
        language: str = "en",
    ) -> Party:
        """A customer registered through TranProc, then given ``balance_ksh`` of e-money.

        The money is a deposit at the world's agent store when ``setup`` made one, else
        issued straight to the wallet. ``tier`` defaults to the profile's highest.
        """
        msisdn = self.msisdn()
        tier = tier or self.services.profile(self.platform.clock()).tiers[-1]
        response = await self.ask(
            "register",
            msisdn,
            pin,
            name=name,
            id_number=self.id_number(msisdn),
            tier=tier,
            language=language,
        )
        assert response.code is Code.OK, response
        party = self.services.directory.by_msisdn(msisdn)
        assert party is not None
        if balance_ksh and self.store is not None:
            await self.deposit(party, balance_ksh * KSH)
        elif balance_ksh:
            await self.issue(wallet(party), balance_ksh * KSH)
        return party

    async def deposit(self, party: Party, amount: int) -> Response:
        """Cash in ``amount`` (minor units) for ``party`` at the world's agent store."""
        store = self.agent_store
        assert store.msisdn is not None and party.msisdn is not None
        response = await self.ask(
            "deposit",
            store.msisdn,
            AGENT_PIN,
            to=party.msisdn,
            amount=f"{amount // KSH}.{amount % KSH:02d}",
        )
        assert response.code is Code.OK, response
        return response

    @staticmethod
    def id_number(msisdn: str) -> str:
        """The ID number a world customer registered with."""
        return f"ID{msisdn[-8:]}"

    async def agent(self, float_ksh: int = 0, stores: int = 1) -> tuple[Party, list[Party]]:
        """A head office and its stores (``agent/1``, ``agent/2``...), each with float."""
        number = self.number()
        office = await self.add_party(
            PartyKind.AGENT_HEAD_OFFICE,
            f"Office {number}",
            msisdn=self.msisdn(),
            number=number,
            purposes=(Purpose.COMMISSION,),
            roles=(Role.AGENT_OWNER,),
            pin=AGENT_PIN,
        )
        shops = []
        for index in range(1, stores + 1):
            store = await self.add_party(
                PartyKind.AGENT_STORE,
                f"Duka {number} {index}",
                msisdn=self.msisdn(),
                number=f"{number}/{index}",
                parent=office.id,
                purposes=(Purpose.FLOAT,),
                roles=(Role.AGENT_OPERATOR,),
                pin=AGENT_PIN,
            )
            if float_ksh:
                await self.issue(account_id(store.id, Purpose.FLOAT), float_ksh * KSH)
            shops.append(store)
        return office, shops

    async def agent_with_assistant(self, float_minor: int) -> tuple[Party, Party, Party]:
        """A head office, one store holding ``float_minor`` of float, and its assistant.

        Unlike ``agent``, the store's and the assistant's roles hold within their parent.
        """
        number = self.number()
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
            role_scope=office.id,
        )
        assistant = await self.add_party(
            PartyKind.AGENT_ASSISTANT,
            f"Assistant {number}",
            msisdn=self.msisdn(),
            parent=store.id,
            roles=(Role.AGENT_ASSISTANT,),
            pin=AGENT_PIN,
            role_scope=store.id,
        )
        if float_minor:
            await self.issue(account_id(store.id, Purpose.FLOAT), float_minor)
        return office, store, assistant

    async def assistant(self, store: Party) -> Party:
        """An assistant of ``store``."""
        return await self.add_party(
            PartyKind.AGENT_ASSISTANT,
            "Msaidizi Kazi",
            msisdn=self.msisdn(),
            parent=store.id,
            roles=(Role.AGENT_ASSISTANT,),
            pin=AGENT_PIN,
        )

    async def staff(self, *roles: Role, id_number: str | None = None) -> Party:
        """A member of staff with ``roles``."""
        return await self.add_party(
            PartyKind.STAFF,
            "Staff Member",
            msisdn=self.msisdn(),
            number=f"staff{self.number()}",
            roles=roles,
            pin=STAFF_PIN,
            id_number=id_number,
        )

    async def issue(self, account: int, amount: int) -> None:
        """Issue e-money against the trust account (money the operator's bank received)."""
        services = self.services
        ledger = services.profile(self.platform.clock()).ledger
        number = services.counter.next()
        transfer = Transfer(ids.leg_id(number, 0, "direct"), TRUST, account, amount, ledger)
        (result,) = await asyncio.wrap_future(services.writer.submit([transfer]))
        assert result is TransferResult.OK, result

    async def set_state(self, party: Party, state: PartyState) -> Party:
        """Freeze, close or reactivate a party, as customer care would."""
        changed = party._replace(state=state)
        change = Change(parties=(changed,))
        await asyncio.wrap_future(self.services.writer.submit([], attach=change.writes()))
        self.services.directory.apply(change)
        return changed

    def party(self, msisdn: str) -> Party:
        """The party on ``msisdn`` as the directory holds it now."""
        party = self.services.directory.by_msisdn(msisdn)
        assert party is not None, msisdn
        return party

    # -- asking ---------------------------------------------------------------------

    def request(
        self,
        product: str,
        msisdn: str,
        pin: str | None = None,
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
        return request_of(
            self.platform,
            product,
            msisdn,
            pin,
            channel=channel,
            request_id=request_id,
            new_pin=new_pin,
            phone=phone,
            **params,
        )

    async def ask(
        self,
        product: str,
        msisdn: str,
        pin: str | None = None,
        *,
        channel: Channel = Channel.API,
        request_id: str | None = None,
        new_pin: str | None = None,
        phone: bool | None = None,
        **params: str,
    ) -> Response:
        """Send a request through the bus; acknowledge delivery of a success, as the API does."""
        return await call(
            self.platform,
            product,
            msisdn,
            pin,
            channel=channel,
            ack=channel != Channel.SYSTEM,
            request_id=request_id,
            new_pin=new_pin,
            phone=phone,
            **params,
        )

    async def by_staff(
        self, product: str, staff: Staff = CARE, /, *, request_id: str | None = None, **params: str
    ) -> Response:
        """A request from the operator console, for ``staff`` (see ``by_staff``)."""
        return await by_staff(self.platform, product, staff, request_id=request_id, **params)

    # -- looking ----------------------------------------------------------------------

    async def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on the platform's store."""
        return await asyncio.to_thread(self.services.store.query, sql, params)

    async def available(self, account: int) -> int:
        """What an account may spend now (posted credits less posted and pending debits)."""
        (found,) = await asyncio.wrap_future(self.platform.writer.balances([account]))
        assert found is not None, account
        return found.available

    async def balances(self, *accounts: int) -> list[int]:
        """``available`` of several accounts at one moment."""
        found = await asyncio.wrap_future(self.platform.writer.balances(list(accounts)))
        assert all(balance is not None for balance in found), accounts
        return [balance.available for balance in found if balance is not None]

    async def sms(self, request_id: str) -> list[Sms]:
        """The messages a request put in the outbox, in order, as their recipients read them."""
        found = await self.rows(
            "SELECT id, recipient, body FROM outbox WHERE request_id = ? ORDER BY id",
            (request_id,),
        )
        return [
            Sms(str(recipient), await self._readable(int(id), str(body)))
            for id, recipient, body in found
        ]

    async def sms_to(self, msisdn: str) -> list[str]:
        """Every message the outbox holds for ``msisdn``, oldest first, as the phone reads it."""
        found = await self.rows(
            "SELECT id, body FROM outbox WHERE recipient = ? ORDER BY id", (msisdn,)
        )
        return [await self._readable(int(id), str(body)) for id, body in found]

    async def _readable(self, outbox_id: int, body: str) -> str:
        """A stored body as its recipient reads it.

        A secret (a temporary PIN, a voucher code) is never in the table in clear:
        sealed until sent, scrubbed after. The test reads it where a person does,
        on the handset (the in-memory SMSC), and checks the table never held it.
        """
        if not is_sealed(body) and body != SCRUBBED:
            return body
        self.platform.outbox.poke()
        for _ in range(500):
            sent = self.platform.smsc.sent_from(outbox_id)
            if sent is not None:
                (stored,) = await self.rows("SELECT body FROM outbox WHERE id = ?", (outbox_id,))
                assert is_sealed(str(stored[0])) or stored[0] == SCRUBBED
                assert sent.body not in str(stored[0])
                return sent.body
            await asyncio.sleep(0.01)
        raise AssertionError(f"outbox row {outbox_id} never reached the handset")

    async def receipt(self, receipt: str) -> dict[str, Any]:
        """A receipt row, by column name."""
        found = await asyncio.to_thread(history.receipt, self.services.store, receipt)
        assert found is not None, receipt
        return found._asdict()

    async def audit(self, subject: Party) -> list[tuple[int, str]]:
        """The audit records about ``subject``: (actor id, action), oldest first."""
        found = await self.rows(
            "SELECT actor_id, action FROM audit_log WHERE subject_id = ? ORDER BY at, id",
            (subject.id,),
        )
        return [(int(actor), str(action)) for actor, action in found]

    def check_books(self) -> None:
        """Reconcile the store from a second connection: every check passes."""
        store = open_store(self.services.store.url)
        try:
            report = reconcile(store)
        finally:
            store.close()
        assert report.ok, [check for check in report.checks if not check.ok]


def wallet(party: Party) -> int:
    """A customer's wallet account."""
    return account_id(party.id, Purpose.WALLET)


def float_of(party: Party) -> int:
    """An agent store's (or super-agent's) float account."""
    return account_id(party.id, Purpose.FLOAT)
