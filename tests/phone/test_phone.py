"""``mkoba phone`` driven as a person would: keys typed into tmux, the screen read back.

A real ``mkoba serve`` runs in a subprocess; the handset runs in a tmux pane
against it. Each step types what a person types and waits for what they would
see.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mkoba.parties.handsets import HandsetKey
from tests.channels.serving import Served, serve
from tests.channels.ussd.conftest import customer

TMUX = shutil.which("tmux")


class Pane:
    """A tmux session running one command; keys in, screen out."""

    def __init__(self, command: list[str]) -> None:
        if TMUX is None:
            pytest.fail("the phone tests need tmux (apt-get install tmux)")
        self.name = f"mkoba-phone-{uuid.uuid4().hex[:8]}"
        shell = " ".join(command)
        subprocess.run(
            [TMUX, "new-session", "-d", "-s", self.name, "-x", "120", "-y", "60", shell],
            check=True,
        )

    def type(self, text: str, enter: bool = True) -> None:
        """Type ``text`` (and Enter)."""
        assert TMUX is not None
        subprocess.run([TMUX, "send-keys", "-t", self.name, "-l", text], check=True)
        if enter:
            subprocess.run([TMUX, "send-keys", "-t", self.name, "Enter"], check=True)

    def screen(self) -> str:
        """What the pane shows, with its scrollback."""
        assert TMUX is not None
        done = subprocess.run(
            [TMUX, "capture-pane", "-p", "-J", "-S", "-400", "-t", self.name],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout

    def wait_for(self, text: str, timeout_s: float = 15.0, after: int = 0) -> str:
        """Wait until ``text`` shows (past character ``after`` of the screen)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown[after:]:
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never showed; the screen:\n{self.screen()}")

    def alive(self) -> bool:
        """Whether the session (the command) still runs."""
        assert TMUX is not None
        done = subprocess.run(
            [TMUX, "has-session", "-t", self.name], capture_output=True, check=False
        )
        return done.returncode == 0

    def close(self) -> None:
        """Kill the session."""
        if TMUX is not None and self.alive():
            subprocess.run([TMUX, "kill-session", "-t", self.name], check=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The server the handsets dial."""
    with serve(tmp_path_factory.mktemp("phone")) as served:
        yield served


def _phone(server: Served, msisdn: str) -> Pane:
    """``mkoba phone`` paired with the server the way a developer's is: its keys directory."""
    command = [sys.executable, "-c", "'from mkoba.cli import main; main()'", "phone", msisdn]
    return Pane([*command, "--url", server.url, "--keys-dir", str(server.keys)])


def test_a_person_sends_money_reads_the_sms_and_asks_for_a_reversal(server: Served) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        sender, recipient = customer(client, 20_000), customer(client)
    pane = _phone(server, sender)
    try:
        pane.wait_for("messages in the inbox")
        pane.type("*334#")
        pane.wait_for("1 Send Money")
        pane.type("1")
        pane.wait_for("Enter phone no.")
        pane.type("0" + recipient[3:])
        pane.wait_for("Enter amount")
        pane.type("100")
        shown = pane.wait_for("Enter M-PESA PIN")
        assert "Send Ksh100.00 to " in shown
        mark = len(pane.screen())
        pane.type("1357")
        shown = pane.wait_for("New SMS from MPESA", after=mark)
        assert "1357" not in shown[mark:]  # the PIN was typed hidden
        assert "Ksh100.00 sent to" in shown[mark:]
        assert "Confirmed." in shown[mark:]
        pane.type("s")
        pane.wait_for("SMS from MPESA", after=len(shown))
        # Forward the confirmation to 456: the reply says how to confirm with the PIN.
        mark = len(pane.screen())
        pane.type("f")
        pane.wait_for("forward which", after=mark)
        listing = pane.screen()[mark:]
        # The newest confirmation of money sent: the one just made.
        index = [
            line.split(".")[0].strip()
            for line in listing.splitlines()
            if "Confirmed. Ksh100.00 sent to" in line
        ][-1]
        pane.type(index)
        pane.wait_for("to (456", after=mark)
        pane.type("456")
        pane.wait_for("Reverse Transaction", after=mark)
        mark = len(pane.screen())
        pane.type("k")
        shown = pane.wait_for("phone>", after=mark + 10)
        # Daraja's STK prompts: none waiting, or (without Daraja) a polite word.
        assert "no payment prompts" in shown[mark:] or "no STK push prompts" in shown[mark:]
        pane.type("q")
        for _ in range(50):
            if not pane.alive():
                break
            time.sleep(0.1)
        assert not pane.alive()
    finally:
        pane.close()


def test_a_cancelled_session_and_an_unknown_code_are_handled(server: Served) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        phone = customer(client)
    pane = _phone(server, phone)
    try:
        pane.wait_for("messages in the inbox")
        pane.type("*334#")
        pane.wait_for("7 My Account")
        pane.type("")  # an empty answer cancels
        pane.wait_for("session cancelled")
        pane.type("hello")
        pane.wait_for("Dial a code such as", after=100)
    finally:
        pane.close()


def test_a_phone_without_a_server_says_so(tmp_path: Path) -> None:
    HandsetKey.load_or_create(tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mkoba.cli import main; main()",
            "phone",
            "254712000001",
            "--url",
            "http://127.0.0.1:9",
            "--keys-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        input="",
        check=False,
    )
    assert "cannot reach http://127.0.0.1:9" in done.stdout
    assert done.returncode == 0
    bad = subprocess.run(
        [sys.executable, "-c", "from mkoba.cli import main; main()", "phone", "12"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "not a" in bad.stderr


def test_a_developer_pairs_curl_with_the_printed_credential(server: Served, tmp_path: Path) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        phone = customer(client)
        command = [sys.executable, "-c", "from mkoba.cli import main; main()", "phone"]
        printed = subprocess.run(
            [*command, "0" + phone[3:], "--credential", "--keys-dir", str(server.keys)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert printed.returncode == 0, printed.stderr
        credential = printed.stdout.strip()
        assert credential.startswith(f"{phone}.")
        headers = {"Authorization": f"Handset {credential}"}
        assert client.get(f"/api/v1/sms/{phone}", headers=headers).status_code == 200
        assert client.get(f"/api/v1/sms/{phone}").status_code == 401
        # Without the server's keys there is nothing to pair with, and nothing is made.
        unpaired = subprocess.run(
            [*command, phone, "--keys-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            input="",
            check=False,
        )
        assert unpaired.returncode == 2
        assert "no handset.key in" in unpaired.stderr and "--keys-dir" in unpaired.stderr
        assert list(tmp_path.iterdir()) == []
