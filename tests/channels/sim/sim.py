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
from mkoba.channels.sim.cards import Cards
from mkoba.channels.sim.server import SimServer
from mkoba.channels.ussd.library import SHIPPED, Library
from mkoba.simcard import applet, menus
from mkoba.simcard.card import SimCard
from mkoba.simcard.keys import load_master_key
from mkoba.simcard.packet import (
    Response,
)
from mkoba.simcard.walk import Refused, Walk

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


class Sim(SimCard):
    """One SIM in a test (``SimCard``), running the shipped customer menu v4 to begin with."""

    def __init__(self, iccid: str, keys_dir: Path, key_version: int = 1) -> None:
        super().__init__(
            iccid, load_master_key(keys_dir), key_version=key_version, menu=shipped_menu()
        )

    def open(self, packet: bytes | None) -> Response:  # type: ignore[override]
        """The server's response, opened (``PacketRefused`` if it is not one for this SIM)."""
        assert packet is not None, "the server sent nothing"
        return super().open(packet)

    def answer(self, packet: bytes | None) -> applet.Answer:  # type: ignore[override]
        """The answer the SIM shows for an accepted request."""
        return applet.decode_answer(self.open(packet).data)

    def choose(self, *inputs: str) -> bytes:
        """Walk the menu the SIM runs (an option's key, or what an ask screen is
        answered) to its request, and seal the request it builds.

        ``LookupError`` when the menu has no such option: what the SIM runs matters.
        """
        assert self.menu is not None
        walk = Walk(self.menu)
        for typed in inputs:
            try:
                walk.enter(typed)
            except Refused as refused:
                raise LookupError(f"menu v{self.menu_version}: {refused}") from None
        assert walk.built is not None, "the walk ends on a screen that asks for more"
        built = walk.built
        return self.request(built.product, built.pin, **built.fields)

    def take_chunk(self, packet: bytes) -> bytes:
        """A pushed menu chunk taken (or refused); the proof of receipt to send back."""
        pushed = self.take_push(packet)
        assert pushed.receipt is not None, "not a menu chunk"
        return pushed.receipt


async def platform_server(platform: Platform) -> tuple[Cards, SimServer]:
    """The platform's own SIM cards and server, as the composition root wired them."""
    assert platform.sim is not None, "the SIM channel runs where the SMS channel does"
    return platform.sim.cards, platform.sim.server
