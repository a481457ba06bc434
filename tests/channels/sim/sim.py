"""A test SIM: its ICCID, its keys (from the platform's master key file), its counters.

It builds the applet's request and seals it as the SIM would, and opens the
server's responses as the SIM would: refusing one whose counter is not above
the last it took (so a test sees a server that reused an MT counter fail).
``platform_server`` builds the server as the composition root will.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from mkoba.app import Platform
from mkoba.channels.sim import applet
from mkoba.channels.sim.cards import Cards
from mkoba.channels.sim.keys import Direction, derive_sim_key, load_master_key
from mkoba.channels.sim.packet import TAR_MONEY, Response, open_response, seal_command
from mkoba.channels.sim.server import SimServer

MENU_VERSION = 4
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
        self.menu_version = MENU_VERSION

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


async def platform_server(platform: Platform) -> tuple[Cards, SimServer]:
    """The platform's own SIM cards and server, as the composition root wired them."""
    assert platform.sim is not None, "the SIM channel runs where the SMS channel does"
    return platform.sim.cards, platform.sim.server
