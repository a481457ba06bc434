"""A test SIM: its ICCID, its keys (from the platform's master key file), its counters.

It builds the applet's request and seals it as the SIM would, and opens the
server's responses as the SIM would: refusing one whose counter is not above
the last it took (so a test sees a server that reused an MT counter fail).
``platform_server`` builds the server as the composition root will.

It also has a SIM's menu store: the menu it runs (the shipped customer menu v4
to begin with), which it walks to build a request (``choose``), and a download
in progress. ``take_chunk`` opens a pushed chunk (an MT command packet on the
menu TAR, with its MT key and counter), keeps it, and answers with a proof of
receipt sealed under its MO key and counter; once every chunk is in and the
whole matches its digest it switches to the new menu, never before.
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

from mkoba.app import Platform
from mkoba.channels.sim import applet, menus, ota
from mkoba.channels.sim.cards import Cards
from mkoba.channels.sim.keys import Direction, derive_sim_key, load_master_key
from mkoba.channels.sim.packet import (
    TAR_MENU,
    TAR_MONEY,
    Response,
    open_command,
    open_response,
    seal_command,
    seal_response,
)
from mkoba.channels.sim.refusals import PacketRefused, PorStatus
from mkoba.channels.sim.server import SimServer
from mkoba.channels.ussd.library import SHIPPED, Library

MENU_VERSION = 4


@functools.cache
def shipped_menu(role: str = "customer", version: int = MENU_VERSION) -> menus.SimMenu:
    """A shipped USSD menu as a SIM holds it."""
    found = Library([]).get(role, version)
    assert found is not None
    return menus.from_document(found.document)


def customer_v5() -> str:
    """A new customer menu: v4 and one item more on its first screen (6: Check Balance)."""
    v4 = (SHIPPED / "customer.v4.yaml").read_text(encoding="utf-8")
    anchor = '      - {key: "7", label: {en: My Account'
    item = '      - {key: "6", label: {en: Check Balance, sw: Angalia Salio}, next: balance.pin}\n'
    v5 = v4.replace("version: 4\n", "version: 5\n").replace(anchor, item + anchor)
    assert v5.count("version: 5") == 1 and item in v5
    return v5


_serials = itertools.count(1)


def new_iccid() -> str:
    """A fresh, valid ICCID (89 254 issuer, a serial, the Luhn check digit)."""
    body = f"8925407{next(_serials):011d}"
    return body + str(_luhn_digit(body))


def _luhn_digit(body: str) -> int:
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char)
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return -total % 10


class Sim:
    """One SIM in a test: what the applet sends and what it reads back."""

    def __init__(self, iccid: str, keys_dir: Path, key_version: int = 1) -> None:
        master = load_master_key(keys_dir)
        self.iccid = iccid
        self.key_version = key_version
        self.mo_key = derive_sim_key(master, iccid, key_version, Direction.MO)
        self.mt_key = derive_sim_key(master, iccid, key_version, Direction.MT)
        self.counter = 0  # the last MO counter it sealed
        self.received = 0  # the last MT counter it accepted
        self.menu = shipped_menu()
        self.menu_version = MENU_VERSION
        self._store: dict[int, bytes] = {}  # a download in progress: chunks by index
        self._store_version = 0
        self._store_total = 0
        self.taken: list[int] = []  # the index of every chunk it took, in order
        self.refused: list[PorStatus] = []  # why it refused the chunks it refused

    def request(self, product: str, pin: str | None = None, **fields: str) -> bytes:
        """The next command packet asking for ``product``."""
        self.counter += 1
        data = applet.encode_request(product, fields, pin, self.menu_version)
        return seal_command(
            self.mo_key, self.key_version, tar=TAR_MONEY, counter=self.counter, data=data
        )

    def open(self, packet: bytes | None) -> Response:
        """The server's response, opened (``PacketRefused`` if it is not one for this SIM)."""
        assert packet is not None, "the server sent nothing"
        response = open_response(
            packet, key=self.mt_key, key_version=self.key_version, last_counter=self.received
        )
        self.received = response.counter
        return response

    def answer(self, packet: bytes | None) -> applet.Answer:
        """The answer the SIM shows for an accepted request."""
        return applet.decode_answer(self.open(packet).data)

    def choose(self, *inputs: str) -> bytes:
        """Walk the menu the SIM runs (an option's key, or what an ask screen is
        answered) to its request, and seal the request it builds.

        ``LookupError`` when the menu has no such option: what the SIM runs matters.
        """
        menu, typed = self.menu, list(inputs)
        values: dict[str, str] = {}
        screen = menu.screens[menu.start]
        for _ in range(len(menu.screens)):
            if screen.kind == menus.MENU:
                key = typed.pop(0)
                option = next((o for o in screen.options if o.key == key), None)
                if option is None:
                    raise LookupError(f"menu v{menu.version} has no option {key}")
                values.update(option.sets)
                screen = menu.screens[option.next]
            elif screen.kind == menus.ASK:
                values[screen.field] = typed.pop(0)
                screen = menu.screens[screen.next]
            elif screen.kind == menus.PASS:
                screen = menu.screens[screen.next]
            elif screen.kind == menus.REQUEST:
                fields = {name: template.format_map(values) for name, template in screen.params}
                return self.request(screen.product, values.get(screen.pin), **fields)
            else:
                raise LookupError("the walk ends on a screen that asks nothing")
        raise AssertionError("the walk goes round in circles")

    def take_chunk(self, packet: bytes) -> bytes:
        """A pushed menu chunk taken (or refused); the proof of receipt to send back."""
        try:
            command = open_command(
                packet,
                keys={self.key_version: self.mt_key},
                last_counter=self.received,
                tars=frozenset({TAR_MENU}),
                direction=Direction.MT,
            )
            self.received = command.counter
            chunk = ota.read_chunk(command.data)
        except PacketRefused as refused:
            self.refused.append(refused.status)
            # It names the counter the header gave; no chunk: nothing in it is trusted.
            return self._receipt(int.from_bytes(packet[10:15], "big"), refused.status, b"")
        status = self._keep(chunk)
        data = ota.receipt_data(chunk.version, chunk.index)
        return self._receipt(command.counter, status, data)

    def _keep(self, chunk: ota.Chunk) -> PorStatus:
        if chunk.version == self.menu_version:
            return PorStatus.OK  # it runs this one already (its receipt was lost)
        if (chunk.version, chunk.total) != (self._store_version, self._store_total):
            self._store, self._store_version, self._store_total = {}, chunk.version, chunk.total
        self._store[chunk.index] = chunk.data
        self.taken.append(chunk.index)
        if len(self._store) < chunk.total:
            return PorStatus.OK  # the old menu stays in use meanwhile
        whole = [self._store[index] for index in range(chunk.total)]
        self._store, self._store_version, self._store_total = {}, 0, 0
        try:
            menu = ota.assemble(whole)
        except menus.MenuRefused:
            return PorStatus.CIPHERING_ERROR
        if menu.version != chunk.version:
            return PorStatus.CIPHERING_ERROR
        self.menu, self.menu_version = menu, menu.version
        return PorStatus.OK

    def _receipt(self, answers: int, status: PorStatus, data: bytes) -> bytes:
        self.counter += 1
        return seal_response(
            self.mo_key,
            self.key_version,
            tar=TAR_MENU,
            counter=self.counter,
            answers=answers,
            status=status,
            data=data,
            direction=Direction.MO,
        )


async def platform_server(platform: Platform) -> tuple[Cards, SimServer]:
    """The platform's own SIM cards and server, as the composition root wired them."""
    assert platform.sim is not None, "the SIM channel runs where the SMS channel does"
    return platform.sim.cards, platform.sim.server
