"""The SIM-toolkit channel, wired: its cards, the secured-packet server, and binary SMS.

The composition root builds it with the ports and its tables and hands the SMS
channel ``sim_data``: every SIM data message the SMSC delivers (8-bit, TP-PID
0x7F) comes here with its sender. Parts of a concatenated packet are joined per
sender (``concat.Joiner``); a whole command packet goes to ``SimServer``, and its
response packet goes back as the user data of one or more SMS to the SIM.

Menus over the air (``ota.py``) need two things only the composition root has:
``send``, which sends SIM data SMS to a number outside an answer (through the
SMS channel's SMSC), and ``menu_document``, a role's current USSD menu
definition. Until both are set nothing is pushed (said once in the log). A
request from a SIM whose menu is older than its role's current one is answered
first, then its push starts (or resumes); the SIM's proofs of receipt of the
chunks (response packets) come back here too.
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import TYPE_CHECKING

from mkoba.channels.sim.cards import Cards
from mkoba.channels.sim.downloads import Downloads
from mkoba.channels.sim.ota import MenuSource, Pusher, Send
from mkoba.channels.sim.prompts import SimPrompts
from mkoba.channels.sim.schema import OWN_TABLES
from mkoba.channels.sim.server import SimServer
from mkoba.ports import Ports, Tables
from mkoba.settings import Settings
from mkoba.simcard.concat import COMMAND_PACKET, RESPONSE_PACKET, BadPart, Joiner, split_packet
from mkoba.simcard.keys import KeyRing, load_master_key

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("mkoba.sim")

__all__ = ["OWN_TABLES", "SimChannel"]


class SimChannel:
    """Everything the SIM-toolkit channel runs (one process: it holds the cards' counters)."""

    def __init__(self, ports: Ports, settings: Settings, tables: Tables) -> None:
        self.cards = Cards(tables, ports.clock)
        keys = KeyRing(load_master_key(settings.keys_dir))
        self.server = SimServer(
            self.cards, keys, ports.request, ports.transport_key, ports.clock, ports.profile
        )
        # Set by the composition root: SIM data SMS to a number, and a role's menu.
        self.send: Send | None = None
        self.menu_document: MenuSource | None = None
        self.ota = Pusher(
            self.cards,
            keys,
            Downloads(tables),
            ports.clock,
            lambda: (self.menu_document, self.send),
        )
        # STK prompts pushed to SIMs (``prompts.py``): the composition root hands the
        # Daraja channel ``prompts.reach`` and this server its answer.
        self.prompts = SimPrompts(self.cards, keys, lambda: self.send)
        self._joiner = Joiner()
        self._expired_at = 0.0
        self._references = itertools.cycle(range(256))

    def mount(self, app: FastAPI) -> None:
        """No HTTP routes: the SIM speaks through the SMSC."""

    async def start(self) -> None:
        """Make the tables, load the live cards, resume unfinished menu downloads."""
        await self.cards.start()
        await self.ota.start()

    async def stop(self) -> None:
        """Stop the menu and prompt pushes (how far each download got is in the table)."""
        await self.ota.stop()
        await self.prompts.stop()

    async def sim_data(self, source: str, destination: str, user_data: bytes) -> list[bytes]:
        """The SMS user data that answer one SMS of SIM data from ``source`` (none yet
        while a concatenated packet waits for its other parts)."""
        del destination  # the short code the SIM wrote to: the answer comes from it
        now = time.monotonic()
        if now - self._expired_at >= 1.0:  # a scan of the waiting parts, once a second
            self._expired_at = now
            self._joiner.expire(now)
        try:
            joined = self._joiner.add(source, user_data, now)
        except BadPart as bad:
            log.warning("SIM data from a phone dropped: %s", bad)
            return []
        if joined is None:
            return []
        if joined.identifier != COMMAND_PACKET:  # the SIM's proof of receipt of a chunk
            await self.ota.acknowledged(source, joined.packet)
            return []
        answer = await self.server.handle(source, joined.packet)
        if answer is None:
            return []
        self.ota.offer(source)  # after the answer: a push if its menu is older
        return split_packet(answer, identifier=RESPONSE_PACKET, reference=next(self._references))
