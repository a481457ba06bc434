"""The SIM's side of the channel: its ICCID, keys, counters and menu, and what it does.

A SIM holds its per-SIM keys (derived from the platform's master key at
personalisation, ``keys.py``), the last counter it sealed (MO) and the last it
accepted (MT), the menu it runs and a menu download in progress. It builds the
applet's request and seals it, opens the server's answers (refusing a counter
not above the last it took), takes pushed menu chunks and answers each with a
proof of receipt, and opens pushed STK prompts. Its state is plain data
(``state``/``from_state``) so a simulated SIM keeps it between runs: keys are
never part of it.

The terminal SIM (``mkoba phone --sim``) and the tests' SIMs are this class;
the server's side is ``channels/sim``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mkoba.parties import SecretKey
from mkoba.simcard import applet, chunks, menus, prompt
from mkoba.simcard.keys import Direction, check_iccid, check_key_version, derive_sim_key
from mkoba.simcard.packet import (
    TAR_MENU,
    TAR_MONEY,
    TAR_PROMPT,
    Response,
    open_command,
    open_response,
    seal_command,
    seal_response,
)
from mkoba.simcard.refusals import PacketRefused, PorStatus


@dataclass(slots=True)
class Download:
    """A menu download in progress: chunks by index."""

    version: int = 0
    total: int = 0
    chunks: dict[int, bytes] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class Pushed:
    """What a pushed packet was: a menu chunk (with the receipt to send back), a
    prompt to show, or a refusal (with the receipt naming its status, if any)."""

    receipt: bytes | None = field(default=None, repr=False)
    prompt: prompt.PushedPrompt | None = None
    refused: PorStatus | None = None
    menu_switched: bool = False


class SimCard:
    """One SIM: what its applet sends and how it reads what comes back."""

    def __init__(
        self,
        iccid: str,
        master: SecretKey,
        *,
        key_version: int = 1,
        menu: menus.SimMenu | None = None,
        counter: int = 0,
        received: int = 0,
    ) -> None:
        self.iccid = check_iccid(iccid)
        self.key_version = check_key_version(key_version)
        self.mo_key = derive_sim_key(master, iccid, key_version, Direction.MO)
        self.mt_key = derive_sim_key(master, iccid, key_version, Direction.MT)
        self.counter = counter  # the last MO counter it sealed
        self.received = received  # the last MT counter it accepted
        self.menu = menu
        self.download = Download()
        self.taken: list[int] = []  # the index of every chunk it took, in order
        self.refused: list[PorStatus] = []  # why it refused the pushes it refused

    def __repr__(self) -> str:
        return f"SimCard({self.iccid!r}, key_version={self.key_version})"

    @property
    def menu_version(self) -> int:
        """The version of the menu it runs (0: none yet)."""
        return self.menu.version if self.menu is not None else 0

    # -- requests ----------------------------------------------------------------------

    def request(self, product: str, pin: str | None = None, **fields: str) -> bytes:
        """The next command packet asking for ``product`` (the PIN in clear only here)."""
        self.counter += 1
        data = applet.encode_request(product, fields, pin, self.menu_version)
        return seal_command(
            self.mo_key, self.key_version, tar=TAR_MONEY, counter=self.counter, data=data
        )

    def answer_prompt(self, checkout_id: str, pin: str | None) -> bytes:
        """The request answering a pushed prompt: with the PIN, or cancelled (None)."""
        return self.request(prompt.PRODUCT, pin, **{prompt.FIELD: checkout_id})

    def open(self, packet: bytes) -> Response:
        """A response from the server, opened (``PacketRefused`` if not one for this SIM)."""
        response = open_response(
            packet, key=self.mt_key, key_version=self.key_version, last_counter=self.received
        )
        self.received = response.counter
        return response

    def answer(self, packet: bytes) -> applet.Answer:
        """The answer the SIM shows for an accepted request."""
        return applet.decode_answer(self.open(packet).data)

    # -- pushes -------------------------------------------------------------------------

    def take_push(self, packet: bytes) -> Pushed:
        """A command packet the server pushed: a menu chunk or a prompt."""
        tar = packet[7:10] if len(packet) >= 10 else b""
        try:
            command = open_command(
                packet,
                keys={self.key_version: self.mt_key},
                last_counter=self.received,
                tars=frozenset({TAR_MENU, TAR_PROMPT}),
                direction=Direction.MT,
            )
            self.received = command.counter
            if command.tar == TAR_PROMPT:
                return Pushed(prompt=prompt.decode(command.data))
            chunk = chunks.read_chunk(command.data)
        except PacketRefused as refused:
            self.refused.append(refused.status)
            if tar != TAR_MENU:
                return Pushed(refused=refused.status)
            # It names the counter the header gave; no chunk: nothing in it is trusted.
            counter = int.from_bytes(packet[10:15], "big")
            return Pushed(self._receipt(counter, refused.status, b""), refused=refused.status)
        before = self.menu_version
        status = self._keep(chunk)
        receipt = self._receipt(
            command.counter, status, chunks.receipt_data(chunk.version, chunk.index)
        )
        return Pushed(receipt, menu_switched=self.menu_version != before)

    def _keep(self, chunk: chunks.Chunk) -> PorStatus:
        if chunk.version == self.menu_version:
            return PorStatus.OK  # it runs this one already (its receipt was lost)
        download = self.download
        if (chunk.version, chunk.total) != (download.version, download.total):
            download = self.download = Download(chunk.version, chunk.total)
        download.chunks[chunk.index] = chunk.data
        self.taken.append(chunk.index)
        if len(download.chunks) < chunk.total:
            return PorStatus.OK  # the old menu stays in use meanwhile
        whole = [download.chunks[index] for index in range(chunk.total)]
        self.download = Download()
        try:
            menu = chunks.assemble(whole)
        except menus.MenuRefused:
            return PorStatus.CIPHERING_ERROR
        if menu.version != chunk.version:
            return PorStatus.CIPHERING_ERROR
        self.menu = menu
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

    # -- state --------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What the SIM keeps between runs (no key: they come from personalisation)."""
        return {
            "iccid": self.iccid,
            "key_version": self.key_version,
            "counter": self.counter,
            "received": self.received,
            "menu": menus.encode(self.menu).hex() if self.menu is not None else "",
            "download": {
                "version": self.download.version,
                "total": self.download.total,
                "chunks": {str(i): data.hex() for i, data in self.download.chunks.items()},
            },
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], master: SecretKey) -> SimCard:
        """A SIM as ``state`` left it (``ValueError``/``MenuRefused`` if it is not one)."""
        raw_menu = str(state.get("menu") or "")
        card = cls(
            str(state["iccid"]),
            master,
            key_version=int(state.get("key_version", 1)),
            menu=menus.decode(bytes.fromhex(raw_menu)) if raw_menu else None,
            counter=int(state.get("counter", 0)),
            received=int(state.get("received", 0)),
        )
        download = state.get("download") or {}
        card.download = Download(
            int(download.get("version", 0)),
            int(download.get("total", 0)),
            {int(i): bytes.fromhex(d) for i, d in dict(download.get("chunks", {})).items()},
        )
        return card
