"""``mkoba phone MSISDN``: a feature phone in the terminal, against a running server.

Type a USSD code (``*334#``) to open a session and answer its screens (an
empty answer cancels); ``s`` reads the SMS inbox, ``f`` forwards an SMS (to
456, for a reversal), ``k`` answers STK payment prompts, ``q`` hangs up for
good. New SMS are shown as they arrive after each action. PIN screens take
hidden input.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import httpx
from rich.console import Console
from rich.panel import Panel

from mkoba.parties.handsets import HandsetCredential
from mkoba.phone.server import Screen, Server, Sms, Unavailable, Unpaired

# After a final screen or a payment, wait this long for the confirmation SMS.
sms_wait_s = 3.0
_CODE = re.compile(r"^\*[0-9*]{1,30}#$")
HELP = (
    "Dial a code such as [bold]*334#[/bold], or:\n"
    "  [bold]s[/bold]  SMS inbox      [bold]f[/bold]  forward an SMS (e.g. to 456)\n"
    "  [bold]k[/bold]  STK prompts    [bold]q[/bold]  quit"
)


class Handset:
    """The phone's screen and keypad."""

    def __init__(
        self,
        server: Server,
        console: Console,
        ask: Callable[[str, bool], str] | None = None,
    ) -> None:
        self.server = server
        self.console = console
        self.ask = ask or self._ask
        self.last_sms = 0
        self.inbox: list[Sms] = []
        # The server's zone, asked once: an SMS's time beside its text, in the same zone.
        self.zone: ZoneInfo | None = None

    def _ask(self, prompt: str, secret: bool) -> str:
        return self.console.input(prompt, password=secret).strip()

    def run(self) -> None:
        """The phone until the user quits."""
        msisdn = self.server.msisdn
        self.console.print(Panel(HELP, title=f"mkoba phone {msisdn}", border_style="green"))
        try:
            self._catch_up()
        except Unpaired as problem:
            self.console.print(f"[red]{problem}[/red]")
            return
        except (httpx.HTTPError, Unavailable) as problem:
            self.console.print(f"[red]cannot reach {self.server.url}: {problem}[/red]")
            return
        while True:
            try:
                command = self.ask("\nphone> ", False)
            except (EOFError, KeyboardInterrupt):
                return
            if command.lower() in ("q", "quit", "exit"):
                return
            try:
                self._command(command)
            except Unavailable as problem:
                self.console.print(f"[yellow]{problem}[/yellow]")
            except httpx.HTTPError as problem:
                self.console.print(f"[red]network problem: {problem}[/red]")

    def _command(self, command: str) -> None:
        lowered = command.lower()
        if lowered == "s":
            self._show_inbox()
        elif lowered == "f":
            self._forward()
        elif lowered == "k":
            self._stk()
        elif _CODE.match(command):
            self._session(command)
        elif command:
            self.console.print(HELP)

    # -- USSD -------------------------------------------------------------------------

    def _session(self, code: str) -> None:
        screen = self.server.dial(code)
        while True:
            self._show_screen(code, screen)
            if not screen.more:
                self.server.hang_up(completed=True)
                self._new_sms(wait_s=sms_wait_s)
                return
            secret = "PIN" in screen.text
            try:
                answer = self.ask("reply> ", secret)
            except (EOFError, KeyboardInterrupt):
                answer = ""
            if not answer:
                self.server.hang_up(completed=False)
                self.console.print("[dim]session cancelled[/dim]")
                return
            screen = self.server.reply(answer)

    def _show_screen(self, code: str, screen: Screen) -> None:
        style = "cyan" if screen.more else "magenta"
        title = code if screen.more else f"{code} (end)"
        self.console.print(Panel(screen.text, title=title, border_style=style, width=40))

    # -- SMS --------------------------------------------------------------------------

    def _catch_up(self) -> None:
        arrived = self.server.inbox()
        if arrived:
            self.last_sms = max(sms.id for sms in arrived)
        self.inbox = [sms for sms in arrived if not sms.data]
        for sms in arrived:
            if sms.data:
                self._sim_data(sms)
        self.console.print(f"[dim]{len(self.inbox)} messages in the inbox[/dim]")

    def _new_sms(self, wait_s: float = 0.0) -> None:
        fresh = self.server.inbox(self.last_sms, wait_s)
        for sms in fresh:
            self.last_sms = max(self.last_sms, sms.id)
            if sms.data:
                self._sim_data(sms)
                continue
            self.inbox.append(sms)
            self._show_sms(sms, new=True)

    def _sim_data(self, sms: Sms) -> None:
        """SIM data goes to the SIM, never to the screen (a phone without a SIM applet
        drops it)."""

    def _show_inbox(self) -> None:
        self._new_sms()
        if not self.inbox:
            self.console.print("[dim]no messages[/dim]")
            return
        for sms in self.inbox[-10:]:
            self._show_sms(sms, new=False)

    def _show_sms(self, sms: Sms, new: bool) -> None:
        if self.zone is None:
            self.zone = self.server.timezone()
        when = dt.datetime.fromtimestamp(sms.at, self.zone)
        title = f"{'New SMS' if new else 'SMS'} from {sms.sender}  {when:%d/%m %H:%M} {when:%Z}"
        self.console.print(Panel(sms.text, title=title, border_style="yellow", width=60))

    def _forward(self) -> None:
        if not self.inbox:
            self.console.print("[dim]no messages to forward[/dim]")
            return
        recent = self.inbox[-5:]
        for index, sms in enumerate(recent, start=1):
            self.console.print(f"{index}. {sms.text[:70]}")
        choice = self.ask("forward which (number)? ", False)
        if not choice.isdigit() or not 1 <= int(choice) <= len(recent):
            self.console.print("[dim]nothing forwarded[/dim]")
            return
        to = self.ask("to (456 for a reversal)? ", False) or "456"
        self.server.send_sms(to, recent[int(choice) - 1].text)
        self.console.print(f"[dim]sent to {to}[/dim]")
        self._new_sms(wait_s=sms_wait_s)

    # -- STK push ---------------------------------------------------------------------

    def _stk(self) -> None:
        prompts = self.server.stk_pending()
        if not prompts:
            self.console.print("[dim]no payment prompts[/dim]")
            return
        for prompt in prompts:
            self.console.print(Panel(prompt.text, title="M-PESA", border_style="cyan", width=40))
            pin = self.ask("Enter M-PESA PIN (empty to cancel)> ", True)
            answer = self.server.stk_answer(prompt.checkout_id, pin or None)
            self.console.print(f"[dim]{answer}[/dim]")
        self._new_sms(wait_s=sms_wait_s)


def run(msisdn: str, url: str, console: Console, credential: HandsetCredential) -> int:
    """Run a handset for ``msisdn`` against ``url``, paired by ``credential``; the exit status."""
    server = Server(url, msisdn, credential=credential)
    try:
        Handset(server, console).run()
    finally:
        server.close()
    return 0
