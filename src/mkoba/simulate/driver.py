"""The simulation's driver: a timeline of actions on a simulated clock, and the requests.

Every action is scheduled at a simulated time (ns); ``run`` plays them in time order,
one at a time, with the platform's clock fixed at each action's time
(``Clock.fixed``, as the demo's history is made), so windows of hours and days pass
in seconds. Requests go through the bus as a channel sends them: PIN sealed for the
request id, the phone verified as a USSD gateway says it, the delivery acknowledged.
Each request is remembered with its kind (``normal``, ``case`` or ``setup``) and answer.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mkoba.codes import Code
from mkoba.commands import parse
from mkoba.demo.seed import PINS
from mkoba.ledger import Transfer, TransferResult
from mkoba.parties import OPERATOR_ID, Party, PartyKind, Pin, Purpose, Role, account_id, seal_pin
from mkoba.processor import ids
from mkoba.processor.request import Channel, Request, Response

if TYPE_CHECKING:
    from mkoba.app import Platform

SECOND_NS = 1_000_000_000
MINUTE_NS = 60 * SECOND_NS
HOUR_NS = 60 * MINUTE_NS
DAY_NS = 24 * HOUR_NS
_FIRST = ("Amina", "Baraka", "Faith", "Juma", "Mercy", "Otieno", "Wanjiru", "Zawadi")
_LAST = ("Kamau", "Njoroge", "Odhiambo", "Wekesa", "Chebet", "Mutua", "Hassan", "Achieng")
# The answers that stop a payment: the inline rules held it, asked again, or refused it.
FLAGGED = frozenset({Code.HELD_FOR_REVIEW, Code.CONFIRM_REQUIRED, Code.REFUSED_FOR_SECURITY})
# Numbers of the customers a simulation registers (the demo's are 0712 000 001 on).
first_fresh_msisdn = 254_799_000_001

Action = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Store:
    """An agent store: its phone (the assistant's till) and its number ``agent/store``."""

    party: Party
    agent: str
    number: str

    @property
    def msisdn(self) -> str:
        """The store's own phone."""
        return self.party.msisdn or ""


@dataclass(slots=True)
class Asked:
    """One request the simulation made: its kind, who it concerns and its answer."""

    kind: str
    product: str
    msisdn: str
    response: Response


@dataclass
class Driver:
    """The platform, the simulated clock's timeline and every request made."""

    platform: Platform
    rng: random.Random
    asked: dict[str, Asked] = field(default_factory=dict)
    by_receipt: dict[str, str] = field(default_factory=dict)
    _queue: list[tuple[int, int, Action]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _msisdns: itertools.count[int] = field(
        default_factory=lambda: itertools.count(first_fresh_msisdn)
    )

    # -- time -------------------------------------------------------------------------

    def now(self) -> int:
        """The simulated time (ns)."""
        return self.platform.clock()

    def at(self, when: int, action: Action) -> None:
        """Run ``action`` at simulated time ``when`` (ties: in the order scheduled)."""
        heapq.heappush(self._queue, (when, next(self._order), action))

    async def run(self, progress: Callable[[int], None] | None = None) -> int:
        """Play every action in time order (actions may schedule later ones); how many."""
        clock = self.platform.clock
        played = 0
        while self._queue:
            when, _, action = heapq.heappop(self._queue)
            clock.fixed = when
            await action()
            played += 1
            if progress is not None and played % 200 == 0:
                progress(played)
        return played

    # -- requests ---------------------------------------------------------------------

    async def ask(self, kind: str, product: str, msisdn: str, pin: str, **params: str) -> str:
        """Send one request as a USSD session would; its request id."""
        platform = self.platform
        request_id = f"sim:{kind}:{next(self._numbers)}"
        command = parse(product, params, platform.services.profile(self.now()))
        sealed = seal_pin(Pin(pin), platform.transport_key, request_id.encode())
        request = Request(
            request_id, Channel.USSD, product, msisdn, command, sealed, self.now(), True
        )
        response = await platform.request(request)
        # Acknowledged as a gateway does once the screen reached the phone (a hold stays).
        await platform.acknowledge(request_id)
        self.asked[request_id] = Asked(kind, product, msisdn, response)
        if response.receipt:
            self.by_receipt[response.receipt] = request_id
        return request_id

    def code(self, request_id: str) -> Code:
        """The answer a request had."""
        return self.asked[request_id].response.code

    def receipt(self, request_id: str) -> str:
        """The receipt of a request ('' when it had none)."""
        return self.asked[request_id].response.receipt or ""

    async def customer_pays(self, kind: str, product: str, msisdn: str, **params: str) -> str:
        """A customer's own request, with the demo's customer PIN."""
        return await self.ask(kind, product, msisdn, PINS["customer"], **params)

    async def deposit(self, kind: str, store: Store, msisdn: str, ksh: int) -> str:
        """A cash-in at ``store`` for ``msisdn``."""
        return await self.ask(
            kind, "deposit", store.msisdn, PINS["agent"], to=msisdn, amount=str(ksh)
        )

    async def withdraw(self, kind: str, msisdn: str, store: Store, ksh: int) -> str:
        """A cash-out by ``msisdn`` at ``store``."""
        return await self.customer_pays(
            kind, "withdraw", msisdn, agent=store.agent, store=store.number, amount=str(ksh)
        )

    async def send(self, kind: str, msisdn: str, to: str, ksh: int) -> str:
        """Send money from ``msisdn`` to ``to``."""
        return await self.customer_pays(kind, "send_money", msisdn, to=to, amount=str(ksh))

    def fresh_msisdn(self) -> str:
        """A number no customer holds yet."""
        return str(next(self._msisdns))

    async def register(self, msisdn: str, id_number: str = "") -> Party:
        """A customer registered through TranProc at the simulated time (the top tier)."""
        profile = self.platform.services.profile(self.now())
        request_id = await self.customer_pays(
            "setup",
            "register",
            msisdn,
            name=f"{self.rng.choice(_FIRST)} {self.rng.choice(_LAST)}",
            id_number=id_number or f"SIM{msisdn[-8:]}",
            tier=profile.tiers[-1],
            language="en",
        )
        party = self.platform.services.directory.by_msisdn(msisdn)
        if party is None:
            raise RuntimeError(f"registering a simulated customer failed: {self.code(request_id)}")
        return party

    async def balance_ksh(self, party: Party) -> int:
        """A customer's available balance, in whole major units."""
        services = self.platform.services
        wallet = account_id(party.id, Purpose.WALLET)
        (balance,) = await asyncio.wrap_future(services.writer.balances([wallet]))
        major = services.profile(self.now()).currency.minor_per_major
        return 0 if balance is None else balance.available // major

    # -- the population ---------------------------------------------------------------

    def stores(self) -> list[Store]:
        """The agent stores of the directory."""
        found = []
        for party in self.platform.services.directory.of_kind(PartyKind.AGENT_STORE):
            if party.msisdn and party.number and "/" in party.number:
                agent, number = party.number.split("/", 1)
                found.append(Store(party, agent, number))
        return sorted(found, key=lambda store: store.party.id)

    def numbers(self, kind: PartyKind, role: Role) -> list[str]:
        """The business numbers (tills, paybills) of ``kind`` holding ``role``."""
        directory = self.platform.services.directory
        return sorted(
            party.number
            for party in directory.of_kind(kind)
            if party.number and directory.has_role(party.id, role)
        )

    async def stock(self, stores: list[Store], ksh: int) -> None:
        """Give every store ``ksh`` more float, bought from the trust account (not a payment)."""
        services = self.platform.services
        profile = services.profile(self.now())
        trust = account_id(OPERATOR_ID, Purpose.TRUST)
        transfers = [
            Transfer(
                ids.leg_id(services.counter.next(), 0, "direct"),
                trust,
                account_id(store.party.id, Purpose.FLOAT),
                ksh * profile.currency.minor_per_major,
                profile.ledger,
            )
            for store in stores
        ]
        results = await services.writer.submit_async(transfers)
        if not all(result is TransferResult.OK for result in results):
            raise RuntimeError("could not stock the agents' float")


def moment(ns: int) -> datetime:
    """A simulated time as an aware datetime (what a SIM-swap feed records)."""
    return datetime.fromtimestamp(ns / SECOND_NS, UTC)
