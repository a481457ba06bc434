"""The SIM cards the server serves: provisioning, SIM swaps, and both counters, durably.

A card's counters are what keep a packet from being acted on twice and a nonce
from being sealed twice, so both reach the table before they matter:

- **Received (MO).** ``receive`` takes a counter only above the last one, under
  the card's lock, and returns once the new counter is *committed*: the caller
  acts on the request only then. A replay after a crash or a restart finds the
  counter already stored and is refused (counter low), even if the first
  request's answer never went out.
- **Sent (MT).** ``take_sent`` hands out the server's next counter. It writes a
  ceiling ``mt_block`` ahead and then hands out counters under it without
  writing; past the ceiling it writes the next one first. A restart starts
  above the stored ceiling, so no counter is ever sealed twice, at the price of
  skipping what was left of a block. The block is well inside the SIM's
  acceptance window (``packet.counter_window``), so the jump after a restart
  is one the SIM still takes.

The live (active) cards are read at ``start`` and kept in memory; the server is
the table's only writer while it runs (``mkoba sims`` writes the store directly,
for a server that is stopped or restarted after: see docs/sim.md). Ended cards
are read from the table when a packet names their number and kept once read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from mkoba.channels.sim import schema
from mkoba.channels.sim.schema import CardRow
from mkoba.ports import Tables
from mkoba.simcard.keys import check_iccid, check_key_version
from mkoba.simcard.packet import counter_limit, counter_window
from mkoba.simcard.refusals import CounterBlocked, CounterLow, UnknownKeyVersion

# MT counters reserved by one write: far inside the window a SIM accepts.
mt_block = 100
assert mt_block * 4 <= counter_window
# The menus a SIM may hold: the USSD channel's roles (channels/ussd/menus/ROLE.vN.yaml).
ROLES = frozenset({"customer", "agent", "agent_assistant", "merchant"})


class CardError(ValueError):
    """A provisioning or ending that cannot be done; the message says why (no secret)."""


class Card:
    """A card in memory: its row as committed, its lock, and its next MT counter."""

    __slots__ = ("lock", "next_sent", "row")

    def __init__(self, row: CardRow) -> None:
        self.row = row
        self.lock = asyncio.Lock()
        # Above the stored ceiling: what a previous run reserved may have been sealed.
        self.next_sent = row.mt_counter + 1

    def __repr__(self) -> str:
        row = self.row
        return f"Card({row.iccid}, {row.msisdn}, {row.state}, v{row.key_version})"


class Cards:
    """The SIM cards, their swaps and their counters, committed through ``Tables``."""

    def __init__(self, tables: Tables, clock: Callable[[], int]) -> None:
        self._tables = tables
        self._clock = clock
        self._cards: dict[str, Card] = {}
        self._active: dict[str, str] = {}  # msisdn -> ICCID of its active card
        # Held while cards are provisioned or ended (a number's cards change together).
        self._changes = asyncio.Lock()

    async def start(self) -> None:
        """Make the table (once) and read the active cards."""
        self._tables.migrate_script(schema.MIGRATION, schema.SCHEMA)
        rows = await asyncio.to_thread(self._tables.query, schema.ACTIVE_CARDS)
        for values in rows:
            self._keep(schema.card_of(values))

    # Told of each swap as it is provisioned (number, ns): the risk rules' SIM-swap signal.
    on_swap: Callable[[str, int], None] | None = None

    def by_msisdn(self, msisdn: str) -> CardRow | None:
        """The number's active card, or None."""
        iccid = self._active.get(msisdn)
        return None if iccid is None else self._cards[iccid].row

    def get(self, iccid: str) -> CardRow | None:
        """A card held in memory (every active one, ended ones once read), or None."""
        card = self._cards.get(iccid)
        return None if card is None else card.row

    async def last_ended(self, msisdn: str) -> CardRow | None:
        """The number's most recently ended card (to refuse its SIM's packets), or None."""
        rows = await asyncio.to_thread(self._tables.query, schema.CARDS_OF, (msisdn,))
        for values in rows:
            row = schema.card_of(values)
            if row.state == schema.ENDED:
                return self._cards.setdefault(row.iccid, Card(row)).row
        return None

    async def provision(
        self, iccid: str, msisdn: str, *, role: str = "customer", key_version: int = 1
    ) -> CardRow:
        """A new card for ``msisdn``; its earlier active card ends (a SIM swap).

        ``CardError`` for an ICCID already known (active or ended: a SIM's keys are
        never handed out twice), a malformed ICCID, number, role or key version.
        """
        check_new(iccid, msisdn, role, key_version)
        async with self._changes:
            if iccid in self._cards or await self._stored(iccid):
                raise CardError("this ICCID is already provisioned")
            now = self._clock()
            new = CardRow(iccid, msisdn, key_version, schema.ACTIVE, "", 0, 0, role, 0, now, now)
            old = self._cards.get(self._active.get(msisdn, ""))
            if old is None:
                await self._tables.submit([schema.card_write(new)])
            else:
                async with old.lock:
                    ended = _ended(old.row, "sim_swap", now)
                    await self._tables.submit([schema.card_write(ended), schema.card_write(new)])
                    old.row = ended
                if self.on_swap is not None:
                    self.on_swap(msisdn, now)
            self._keep(new)
            return new

    async def swaps(self) -> list[tuple[str, int]]:
        """Every number whose active card replaced an earlier one (a SIM swap), and when
        (ns): what the risk rules know of swaps without an operator's feed."""
        self._tables.migrate_script(schema.MIGRATION, schema.SCHEMA)
        rows = await asyncio.to_thread(self._tables.query, schema.SWAPPED)
        return [(str(msisdn), int(at)) for msisdn, at in rows]

    async def end(self, msisdn: str, reason: str) -> CardRow | None:
        """End the number's active card (its SIM's packets are refused from now on)."""
        if reason not in schema.REASONS:
            raise CardError(f"a reason is one of {', '.join(sorted(schema.REASONS))}")
        async with self._changes:
            card = self._cards.get(self._active.get(msisdn, ""))
            if card is None:
                return None
            async with card.lock:
                ended = _ended(card.row, reason, self._clock())
                await self._tables.submit([schema.card_write(ended)])
                card.row = ended
                del self._active[msisdn]
            return ended

    async def receive(self, iccid: str, counter: int, menu_version: int | None = None) -> CardRow:
        """Take ``counter`` from the SIM: committed when this returns, before anything acts.

        ``CounterLow`` when it is not above the last one taken (a replay, or another
        request with it got here first); ``UnknownKeyVersion`` when the card has
        ended meanwhile (its keys are no longer held).
        """
        card = self._cards[iccid]
        async with card.lock:
            row = card.row
            if row.state != schema.ACTIVE:
                raise UnknownKeyVersion
            if counter <= row.mo_counter:
                raise CounterLow
            menu = row.menu_version if menu_version is None else menu_version
            new = row._replace(mo_counter=counter, menu_version=menu, updated=self._clock())
            await self._tables.submit([schema.card_write(new)])
            card.row = new
            return new

    async def take_sent(self, iccid: str) -> int:
        """The server's next counter to the SIM; never handed out twice, across restarts."""
        card = self._cards[iccid]
        async with card.lock:
            counter = card.next_sent
            if counter > counter_limit:
                raise CounterBlocked
            if counter > card.row.mt_counter:
                ceiling = min(counter + mt_block - 1, counter_limit)
                new = card.row._replace(mt_counter=ceiling, updated=self._clock())
                await self._tables.submit([schema.card_write(new)])
                card.row = new
            card.next_sent = counter + 1
            return counter

    def _keep(self, row: CardRow) -> None:
        self._cards[row.iccid] = Card(row)
        if row.state == schema.ACTIVE:
            self._active[row.msisdn] = row.iccid

    async def _stored(self, iccid: str) -> bool:
        rows = await asyncio.to_thread(self._tables.query, schema.CARD_BY_ICCID, (iccid,))
        return bool(rows)


def check_new(iccid: str, msisdn: str, role: str, key_version: int) -> None:
    """``CardError`` unless these can make a new card (the CLI checks with it too)."""
    try:
        check_iccid(iccid)
        check_key_version(key_version)
    except ValueError as error:
        raise CardError(str(error)) from None
    if not (isinstance(msisdn, str) and msisdn.isascii() and msisdn.isdigit()):
        raise CardError("a number is given in its canonical form: digits only")
    if role not in ROLES:
        raise CardError(f"a menu role is one of {', '.join(sorted(ROLES))}")


def _ended(row: CardRow, reason: str, now: int) -> CardRow:
    return row._replace(state=schema.ENDED, reason=reason, updated=now)
