"""Menus over the air: a card on an older menu gets its role's current one, in chunks.

When a SIM's request reports a menu version older than its role's current one,
the channel answers it first and then offers the card here. The menu
(``menus.py``'s bytes, followed by their SHA-256) is cut into chunks; each goes
as a secured MT command packet on the menu TAR (``4D4B02``), sealed with the
card's MT key under the server's own counter (``Cards.take_sent``), and carries::

    menu version(2) | chunk index(1) | chunks in all(1) | bytes

sized so that its packet fits two SMS. The SIM answers every chunk with a proof
of receipt on the same TAR, sealed under *its* MO key and counter (taken as a
request's is, ``Cards.receive``), whose data names the chunk: version(2) and
index(1). At most ``window`` chunks are unacknowledged at once; one that is not
acknowledged within ``resend_s`` goes again (under a new counter), up to
``attempts_max`` times, after which the push waits for the SIM's next request.

How far a download got is in ``sim_menu_downloads`` (``downloads.py``): the
chunks acknowledged without a gap. An interrupted push (a lost chunk, the SIM
out of reach, a restart) resumes from there. The SIM keeps the menu it runs
until the new one is whole and matches its digest; then it switches, and its
next request reports the new version (``Cards.receive`` stores it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mkoba.channels.sim.cards import Cards
from mkoba.channels.sim.downloads import DownloadRow, Downloads
from mkoba.channels.sim.schema import CardRow
from mkoba.ports import Unavailable
from mkoba.simcard import menus
from mkoba.simcard.chunks import Package, chunk_payload, package, read_receipt
from mkoba.simcard.concat import COMMAND_PACKET, split_packet
from mkoba.simcard.keys import Direction, KeyRing
from mkoba.simcard.packet import TAR_MENU, open_response, seal_command
from mkoba.simcard.refusals import MalformedRequest, PacketRefused, PorStatus

log = logging.getLogger("mkoba.sim.ota")

# (number, the user data of its SMS): sends SIM data download SMS to a phone.
Send = Callable[[str, list[bytes]], Awaitable[None]]
# A role's current USSD menu definition (its JSON document), None while there is none.
MenuSource = Callable[[str], str | None]

window = 4  # chunks unacknowledged at once, per card
resend_s = 30.0  # a chunk not acknowledged in this long goes again
attempts_max = 5  # sends of one chunk; then the push waits for the SIM's next request
push_delay_s = 1.0  # after the answer: a push on its heels could overtake it at the SMSC
tick_s = 1.0  # how often the unacknowledged chunks are looked at
flights_max = 10_000  # downloads in flight at once


@dataclass(slots=True)
class _Flight:
    """A download in progress, in memory: what was sent when, and how often."""

    iccid: str
    msisdn: str
    package: Package
    row: DownloadRow
    acked: set[int] = field(default_factory=set)
    sent_at: dict[int, float] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)
    waiting: bool = False  # attempts used up: until the SIM's next request
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Pusher:
    """Pushes, acknowledges, re-sends and resumes menu downloads, per card."""

    def __init__(
        self,
        cards: Cards,
        keys: KeyRing,
        downloads: Downloads,
        clock: Callable[[], int],
        wiring: Callable[[], tuple[MenuSource | None, Send | None]],
    ) -> None:
        self._cards = cards
        self._keys = keys
        self._downloads = downloads
        self._clock = clock
        self._wiring = wiring
        self._flights: dict[str, _Flight] = {}
        # role -> (its document, its package; None: one the SIM's format cannot carry)
        self._packages: dict[str, tuple[str, Package | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._said_unwired = False
        # Instance values, so a test can run with short ones.
        self.resend_s = resend_s
        self.attempts_max = attempts_max
        self.push_delay_s = push_delay_s

    async def start(self) -> None:
        """Make the table; resume the downloads a previous run left unfinished."""
        self._downloads.migrate()
        for row in await self._downloads.unfinished():
            card = self._cards.get(row.iccid)
            current = None if card is None else self._current(card.menu_role)
            if card is None or current is None or not _same(row, current):
                continue  # ended, or the menu moved on: the SIM's next request starts over
            self._flights[row.iccid] = _Flight(row.iccid, card.msisdn, current, row)
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="sim-ota")

    async def stop(self) -> None:
        """Stop re-sending; what was acknowledged is in the table."""
        tasks = [*self._tasks, *([self._ticker] if self._ticker else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._ticker = None

    def offer(self, msisdn: str) -> None:
        """After answering ``msisdn``: push its role's menu if its SIM runs an older one."""
        card = self._cards.by_msisdn(msisdn)
        if card is None or not self._behind(card):
            return
        task = asyncio.get_running_loop().create_task(self._later(msisdn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def flight(self, iccid: str) -> tuple[int, int, bool] | None:
        """A download in progress: chunks acknowledged without a gap, chunks in all, and
        whether it waits for the SIM's next request (its attempts used up)."""
        flight = self._flights.get(iccid)
        return None if flight is None else (flight.row.done, flight.row.total, flight.waiting)

    async def download(self, iccid: str) -> DownloadRow | None:
        """The card's download as the table holds it (how far it got)."""
        return await self._downloads.get(iccid)

    async def _later(self, msisdn: str) -> None:
        await asyncio.sleep(self.push_delay_s)
        try:
            await self.begin(msisdn)
        except Exception:  # a failed push waits for the next request; the channel goes on
            log.exception("sim: a menu push failed")

    async def begin(self, msisdn: str) -> None:
        """Start, or resume, the push of the current menu to the number's card."""
        card = self._cards.by_msisdn(msisdn)
        if card is None or not self._behind(card):
            return
        current = self._current(card.menu_role)
        assert current is not None  # _behind found it
        flight = self._flights.get(card.iccid)
        if flight is None or not _same(flight.row, current):
            flight = await self._new_flight(card, current)
            if flight is None:
                return
        async with flight.lock:
            if flight.waiting:  # the SIM is back in reach: what is unacknowledged goes again
                flight.waiting = False
                flight.attempts.clear()
                flight.sent_at.clear()
        await self._pump(flight)

    async def _new_flight(self, card: CardRow, current: Package) -> _Flight | None:
        if len(self._flights) >= flights_max:
            log.warning("sim: too many menu downloads at once; card %s waits", _tail(card.iccid))
            return None
        stored = await self._downloads.get(card.iccid)
        now = self._clock()
        if stored is not None and _same(stored, current) and not stored.complete:
            row = stored  # resumed where it stopped: a restart, or a push cut before
        else:  # a new menu, or one the SIM completed and yet does not run: from the start
            total = len(current.chunks)
            row = DownloadRow(
                card.iccid, current.role, current.version, current.digest, total, 0, now, now
            )
            await self._downloads.write(row)
        log.info(
            "sim: card %s: menu %s v%d, from chunk %d of %d",
            _tail(card.iccid), current.role, current.version, row.done, row.total,
        )  # fmt: skip
        flight = self._flights[card.iccid] = _Flight(card.iccid, card.msisdn, current, row)
        return flight

    async def acknowledged(self, msisdn: str, packet: bytes) -> None:
        """A proof of receipt from ``msisdn``'s SIM: a chunk it took (or refused)."""
        card = self._cards.by_msisdn(msisdn)
        if card is None:
            log.warning("sim: a proof of receipt from a number with no SIM card was dropped")
            return
        try:
            response = open_response(
                packet,
                key=self._keys.key(card.iccid, card.key_version, Direction.MO),
                key_version=card.key_version,
                last_counter=card.mo_counter,
                tars=frozenset({TAR_MENU}),
                direction=Direction.MO,
            )
            await self._cards.receive(card.iccid, response.counter)
        except (PacketRefused, Unavailable) as refused:
            log.info("sim: card %s: a proof of receipt dropped: %s", _tail(card.iccid), refused)
            return
        if not response.data:  # a chunk it could not open: nothing in it named the chunk
            status = response.status
            log.info("sim: card %s refused a menu packet (status %#04x)", _tail(card.iccid), status)
            return
        try:
            version, index = read_receipt(response.data)
        except MalformedRequest:
            log.info("sim: card %s: a proof of receipt names no chunk", _tail(card.iccid))
            return
        flight = self._flights.get(card.iccid)
        if flight is None or version != flight.row.version or index >= flight.row.total:
            return  # of a download that is over or was replaced
        if response.status is not PorStatus.OK:
            await self._refused(flight, response.status)
            return
        await self._advance(flight, index)

    async def _advance(self, flight: _Flight, index: int) -> None:
        async with flight.lock:
            flight.acked.add(index)
            done = flight.row.done
            while done in flight.acked:
                done += 1
            if done != flight.row.done:
                flight.row = flight.row._replace(done=done, updated=self._clock())
                await self._downloads.write(flight.row)
            complete = flight.row.complete
        if complete:
            self._flights.pop(flight.iccid, None)
            log.info("sim: card %s holds menu v%d", _tail(flight.iccid), flight.row.version)
            return
        await self._pump(flight)

    async def _refused(self, flight: _Flight, status: PorStatus) -> None:
        """The SIM refused a chunk: a whole that failed its check starts over."""
        log.info("sim: card %s refused a menu chunk (status %#04x)", _tail(flight.iccid), status)
        if status is not PorStatus.CIPHERING_ERROR:
            return  # a copy that came late, or altered on the way: the timer sends it again
        async with flight.lock:
            flight.acked.clear()
            flight.sent_at.clear()
            flight.row = flight.row._replace(done=0, updated=self._clock())
            await self._downloads.write(flight.row)
        await self._pump(flight)

    async def _pump(self, flight: _Flight) -> None:
        """Send what is due: unsent chunks inside the window, and timed-out ones.

        Sealed and sent under the flight's lock, so its chunks leave in the order of
        their counters (the SIM takes only rising ones).
        """
        _, send = self._wiring()
        if send is None:
            self._say_unwired()
            return
        async with flight.lock:
            due = self._due(flight, time.monotonic())
            for index in due:
                parts = await self._seal(flight, index)
                flight.sent_at[index] = time.monotonic()
                flight.attempts[index] = flight.attempts.get(index, 0) + 1
                try:
                    await send(flight.msisdn, parts)
                except Exception as error:  # unacknowledged: the timer sends it again
                    kind = type(error).__name__
                    log.warning("sim: a menu chunk to %s not sent: %s", _tail(flight.iccid), kind)
                    return

    def _due(self, flight: _Flight, now: float) -> list[int]:
        """The chunks to send now; none once one has used up its attempts (it waits)."""
        if flight.waiting:
            return []
        end = min(flight.row.done + window, flight.row.total)
        due = [
            index
            for index in range(flight.row.done, end)
            if index not in flight.acked
            and now - flight.sent_at.get(index, -self.resend_s) >= self.resend_s
        ]
        if any(flight.attempts.get(index, 0) >= self.attempts_max for index in due):
            flight.waiting = True
            log.info("sim: card %s out of reach; its menu waits", _tail(flight.iccid))
            return []
        return due

    async def _seal(self, flight: _Flight, index: int) -> list[bytes]:
        card = self._cards.get(flight.iccid)
        assert card is not None
        counter = await self._cards.take_sent(card.iccid)
        chunks = flight.package.chunks
        packet = seal_command(
            self._keys.key(card.iccid, card.key_version, Direction.MT),
            card.key_version,
            tar=TAR_MENU,
            counter=counter,
            data=chunk_payload(flight.row.version, index, len(chunks), chunks[index]),
            direction=Direction.MT,
        )
        return split_packet(packet, identifier=COMMAND_PACKET, reference=counter % 256)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(min(tick_s, self.resend_s / 4))
            for flight in list(self._flights.values()):
                if self._cards.by_msisdn(flight.msisdn) is None:
                    self._flights.pop(flight.iccid, None)  # the card ended: its keys are gone
                    continue
                try:
                    await self._pump(flight)
                except Exception:  # one card's failure must not stop the others'
                    log.exception("sim: re-sending a menu chunk failed")

    def _behind(self, card: CardRow) -> bool:
        current = self._current(card.menu_role)
        return current is not None and card.menu_version < current.version

    def _current(self, role: str) -> Package | None:
        """The role's current menu, packaged once per document."""
        menu_source, _ = self._wiring()
        if menu_source is None:
            self._say_unwired()
            return None
        document = menu_source(role)
        if document is None:
            return None
        cached = self._packages.get(role)
        if cached is not None and cached[0] == document:
            return cached[1]
        made: Package | None = None
        try:
            made = package(document)
        except menus.MenuRefused as refused:  # said once per document, not per request
            log.error("sim: the %s menu cannot go over the air: %s", role, refused)
        self._packages[role] = (document, made)
        return made

    def _say_unwired(self) -> None:
        if not self._said_unwired:
            self._said_unwired = True
            log.warning("sim: menus over the air are not sent: no SMSC or no menus to send")


def _same(row: DownloadRow, current: Package) -> bool:
    return row.version == current.version and row.digest == current.digest


def _tail(iccid: str) -> str:
    return f"...{iccid[-6:]}"
