"""The handsets of ``mkoba bench sim``: a SIM each, provisioned with ``mkoba sims provision``.

Each SIM holds what a personalised card holds: its ICCID, its MO and MT keys
(derived from the master key in the server's keys directory, as the personaliser
derives them), its own counter and the last server counter it took. It seals the
applet's request (the PIN is sealed on the SIM) into one SMS, and joins and opens
what comes back (``sim_envelope``: the bench's own implementation of docs/sim.md).

Provisioning runs the real ``mkoba sims provision`` (in this process, its output
kept) on the bench's store before the server starts: a running server keeps its
cards in memory.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import typer

from mkoba.bench import sim_envelope as envelope
from mkoba.bench.errors import BenchError
from mkoba.ledger import open_store
from mkoba.parties import SecretKey

# The short code the SIMs write to; the server answers from it.
SHORT_CODE = "334"
KEY_VERSION = 1
POR_OK = 0x00
# 89 (telecom) 254 (Kenya) 99 (a bench issuer): no real card's ICCID.
_ISSUER = "8925499"


def bench_iccid(serial: int) -> str:
    """The ICCID of the bench's SIM ``serial``: 19 digits with its Luhn check digit."""
    body = f"{_ISSUER}{serial:011d}"
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char)
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return body + str(-total % 10)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the SIM shows for one request: ``failure`` is '' when it went through."""

    failure: str
    receipt: str = ""


class SimPhone:
    """A handset and its SIM: seals a request into an SMS, joins and opens the answer."""

    def __init__(
        self, msisdn: str, iccid: str, master: SecretKey, pin: str, menu_version: int
    ) -> None:
        self.msisdn = msisdn
        # The menu its SIM runs: the one the server serves, so no menu is pushed to it
        # over the air while it is measured (that would be other traffic on its line).
        self.menu_version = menu_version
        self.iccid = iccid
        self._mo_key = envelope.sim_key(master, iccid, KEY_VERSION, envelope.MO)
        self._mt_key = envelope.sim_key(master, iccid, KEY_VERSION, envelope.MT)
        self._pin = pin
        self.counter = 0  # the last MO counter sealed
        self.received = 0  # the last MT counter accepted
        self._joiner = envelope.ResponseJoiner()

    def __repr__(self) -> str:
        return f"SimPhone({self.msisdn}, {self.iccid})"

    def send_money(self, to: str, amount: str) -> bytes:
        """The SMS user data (UDH included) of the next request: send ``amount`` to ``to``."""
        self.counter += 1
        fields = {"to": to, "amount": amount}
        data = envelope.applet_request("send_money", fields, self._pin, self.menu_version)
        packet = envelope.seal_command(self._mo_key, KEY_VERSION, self.counter, data)
        return envelope.command_sms(packet)

    def receive(self, user_data: bytes) -> Outcome | None:
        """One SIM data SMS in: the outcome of the last request once its answer is whole.

        None while parts are missing, and for a late answer to an earlier request
        (one that timed out): the SIM takes its counter and waits on.
        """
        try:
            packet = self._joiner.add(user_data)
            if packet is None:
                return None
            opened = envelope.open_response(packet, self._mt_key, KEY_VERSION, self.received)
            self.received = opened.counter
            if opened.answers != self.counter:
                return None
            if opened.status != POR_OK:
                return Outcome(f"PoR {opened.status:02X}")
            answer = envelope.applet_answer(opened.data)
        except (envelope.Unopened, ValueError) as problem:
            return Outcome(f"the SIM refused it: {problem}")
        if answer[0x81] != "ok":
            return Outcome(f"code {answer[0x81]}")
        return Outcome("", answer.get(0x83, ""))


def provision(db: str, numbers: Sequence[str]) -> dict[str, str]:
    """A SIM for each number (its ICCID, by number), provisioned by ``mkoba sims provision``
    on the store ``db``; a new store is made first (the server seeds its demo data when
    it starts). No key is made here: the cards hold none, the server's master key does."""
    from mkoba.app_commands import channel_commands

    with open_store(db) as store:
        store.migrate()
    sims = typer.main.get_command(dict(channel_commands())["sims"])
    cards = {}
    for serial, number in enumerate(numbers, 1):
        iccid = bench_iccid(serial)
        # The SIMs' own files next to the bench's store, not in the working folder.
        sims_dir = str(Path(db).parent / "sims")
        arguments = ["provision", iccid, "--msisdn", number, "--db", db, "--sims-dir", sims_dir]
        said = io.StringIO()
        with contextlib.redirect_stdout(said):
            code = sims.main(arguments, prog_name="mkoba sims", standalone_mode=False)
        if code:
            raise BenchError(f"mkoba sims provision failed: {said.getvalue().strip()}")
        cards[number] = iccid
    return cards
