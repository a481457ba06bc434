"""``mkoba phone MSISDN --sim``: the handset with a SIM-toolkit SIM in it.

Everything the feature phone does (USSD, SMS, STK prompts on the server's
route), and ``m``: the M-PESA menu **on the SIM**. The SIM renders its role's
menu from the definition it holds (downloaded over the air, or the one it was
personalised with), takes the answers and the PIN itself, and sends the
request as a secured packet in 8-bit SMS to the short code; the server's
secured answer comes back as SIM data, the SIM opens it and shows it, and the
confirmation SMS follows as for any channel. Pushes reach the SIM the same
way and are handled as they arrive: menu chunks (acknowledged; the new menu is
used once whole) and STK payment prompts (shown; the PIN goes back secured).

The card's state (counters, menu, a download in progress) is its file in the
SIMs folder (``simcard/simfile.py``), saved after every packet; its keys come
from the server's master key file, as the SIM had them at personalisation.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

from rich.console import Console
from rich.panel import Panel

from mkoba.phone.handset import Handset
from mkoba.phone.server import Server, Sms
from mkoba.simcard import menus
from mkoba.simcard.applet import decode_answer
from mkoba.simcard.concat import COMMAND_PACKET, RESPONSE_PACKET, BadPart, Joiner, split_packet
from mkoba.simcard.prompt import PushedPrompt
from mkoba.simcard.refusals import PacketRefused
from mkoba.simcard.simfile import SimFile
from mkoba.simcard.walk import Refused, Walk

# How long the SIM waits for the server's secured answer to a request.
answer_wait_s = 15.0
SIM_HELP = (
    "[bold]m[/bold]  the M-PESA menu on the SIM (secured SMS to {short_code})\n"
    "  [bold]k[/bold]  payment prompts (pushed to the SIM, or on the server's route)"
)


class SimHandset(Handset):
    """The phone and its SIM applet."""

    def __init__(
        self,
        server: Server,
        console: Console,
        sim: SimFile,
        short_code: str = "334",
        ask: Callable[[str, bool], str] | None = None,
    ) -> None:
        super().__init__(server, console, ask)
        self.sim = sim
        self.short_code = short_code
        self.language = "en"
        self._joiner = Joiner()
        self._references = itertools.cycle(range(256))
        self._answers: list[bytes] = []
        self._prompts: list[PushedPrompt] = []
        self._held: list[Sms] | None = None  # texts held back while an answer is awaited

    def run(self) -> None:
        """The phone until the user quits, its SIM personalised first if it has no menu."""
        card = self.sim.card
        self.console.print(
            f"[green]SIM {card.iccid}[/green] (key version {card.key_version},"
            f" {self.sim.role} menu v{card.menu_version or '-'})"
        )
        self.console.print(SIM_HELP.format(short_code=self.short_code))
        super().run()

    def _command(self, command: str) -> None:
        lowered = command.lower()
        if lowered == "m":
            self._personalise()
            self._menu()
        elif lowered == "k":
            self._new_sms()
            if self._prompts:
                self._sim_prompts()
            else:
                super()._command(command)
        else:
            super()._command(command)
        self._sim_prompts()

    # -- the menu on the SIM ------------------------------------------------------------

    def _personalise(self) -> None:
        """A SIM with no menu gets its role's current one, as its vendor would load it."""
        if self.sim.card.menu is not None:
            return
        self.sim.card.menu = menus.from_document(self.server.menu_document(self.sim.role))
        self.sim.save()
        self.console.print(f"[dim]SIM personalised with menu v{self.sim.card.menu_version}[/dim]")

    def _menu(self) -> None:
        menu = self.sim.card.menu
        assert menu is not None
        walk = Walk(menu, self.language)
        while not walk.done:
            self.console.print(
                Panel(walk.text(), title="M-PESA (SIM)", border_style="cyan", width=40)
            )
            try:
                typed = self.ask("sim> ", walk.secret)
            except (EOFError, KeyboardInterrupt):
                typed = ""
            if not typed:
                self.console.print("[dim]menu closed[/dim]")
                return
            try:
                walk.enter(typed)
            except Refused as refused:
                self.console.print(f"[yellow]{refused}[/yellow]")
        if walk.built is None:
            self.console.print(
                Panel(walk.said, title="M-PESA (SIM)", border_style="magenta", width=40)
            )
            return
        built = walk.built
        if built.new_pin is not None:
            self.console.print("[yellow]a PIN change is not on this SIM yet: dial *334#[/yellow]")
            return
        self._send(self.sim.card.request(built.product, built.pin, **built.fields))
        self._show_answer()

    # -- packets ------------------------------------------------------------------------

    def _send(self, packet: bytes, identifier: int = COMMAND_PACKET) -> None:
        """A packet out as SIM data SMS (the card's state saved first: a counter used is used)."""
        self.sim.save()
        parts = split_packet(packet, identifier=identifier, reference=next(self._references))
        for part in parts:
            self.server.send_sim_data(self.short_code, part)
        self.console.print(f"[dim]sent as {len(parts)} secured SMS to {self.short_code}[/dim]")

    def _show_answer(self) -> None:
        deadline = time.monotonic() + answer_wait_s
        self._held = []  # the answer first, then the confirmation SMS that may overtake it
        try:
            while not self._answers and time.monotonic() < deadline:
                self._new_sms(wait_s=min(2.0, max(0.1, deadline - time.monotonic())))
            self._open_answer()
        finally:
            held, self._held = self._held, None
            for sms in held:
                self._show_sms(sms, new=True)
        self._new_sms(wait_s=1.0)  # the confirmation SMS, if it is not in yet

    def _show_sms(self, sms: Sms, new: bool) -> None:
        if self._held is not None and new:
            self._held.append(sms)
            return
        super()._show_sms(sms, new)

    def _open_answer(self) -> None:
        if not self._answers:
            self.console.print("[yellow]no answer from the network: try again later[/yellow]")
            return
        packet = self._answers.pop(0)
        try:
            response = self.sim.card.open(packet)
            answer = None if response.status else decode_answer(response.data)
        except PacketRefused as refused:
            self.console.print(f"[red]the SIM refused the answer: {refused}[/red]")
            return
        finally:
            self.sim.save()
        if answer is None:
            status = response.status
            text = f"The network refused the request (status {status:02X}: {status.name})."
        else:
            text = answer.message + (f"\nReceipt {answer.receipt}" if answer.receipt else "")
        self.console.print(Panel(text, title="M-PESA (SIM)", border_style="magenta", width=40))

    def _sim_data(self, sms: Sms) -> None:
        try:
            joined = self._joiner.add(sms.sender, sms.data, time.monotonic())
        except BadPart:
            return
        if joined is None:
            return
        if joined.identifier == RESPONSE_PACKET:
            self._answers.append(joined.packet)
            return
        pushed = self.sim.card.take_push(joined.packet)
        self.sim.save()
        if pushed.prompt is not None:
            self._prompts.append(pushed.prompt)
        if pushed.receipt is not None:
            self._send(pushed.receipt, RESPONSE_PACKET)
        if pushed.menu_switched:
            self.console.print(f"[green]SIM menu updated to v{self.sim.card.menu_version}[/green]")

    # -- STK prompts pushed to the SIM --------------------------------------------------

    def _sim_prompts(self) -> None:
        while self._prompts:
            prompt = self._prompts.pop(0)
            self.console.print(
                Panel(prompt.text, title="M-PESA (SIM)", border_style="cyan", width=40)
            )
            pin = self._prompt_pin()
            self._send(self.sim.card.answer_prompt(prompt.checkout_id, pin or None))
            self._show_answer()

    def _prompt_pin(self) -> str:
        """The PIN typed on the SIM for a prompt ("" cancels it)."""
        while True:
            try:
                pin = self.ask("Enter M-PESA PIN (empty to cancel)> ", True)
            except (EOFError, KeyboardInterrupt):
                return ""
            if not pin or (pin.isdigit() and 4 <= len(pin) <= 6):
                return pin
            self.console.print("[yellow]a PIN is 4 to 6 digits[/yellow]")
