"""The mail transport's outcomes as the outbox reads them: sent, try again, or give up.

Method: a real SMTP server (aiosmtpd) that refuses one recipient, a port nobody
listens on, and the mail folder of the embedded default.
"""

from __future__ import annotations

import email
import stat
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from mkoba.mail import EmailGateway, FolderMailer, SmtpMailer
from mkoba.outbox import Delivery, Message
from mkoba.statements.delivery import read_order
from tests.channels.serving import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Picky:
    """Takes mail for anyone but ``nobody@``; keeps what it took."""

    def __init__(self) -> None:
        self.taken: list[bytes] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.taken.append(envelope.content)
        return "250 OK"


def message(recipient: str, body: str = "Subject line\n\nThe text.") -> Message:
    return Message(7, "req-1", "email", recipient, body, 0, "")


async def test_smtp_outcomes_are_sent_failed_or_retried() -> None:
    picky = Picky()
    controller = Controller(picky, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        gateway = EmailGateway(SmtpMailer("127.0.0.1", controller.port, "none"), "m@mkoba.test")
        assert await gateway.send(message("jane@example.com")) is Delivery.SENT
        (taken,) = picky.taken
        mail = email.message_from_bytes(taken, policy=default)
        assert (mail["To"], mail["Subject"]) == ("jane@example.com", "Subject line")
        assert await gateway.send(message("nobody@example.com")) is Delivery.FAILED
    finally:
        controller.stop()
    nowhere = EmailGateway(SmtpMailer("127.0.0.1", free_port(), "none", timeout_s=2), "m@x.test")
    assert await nowhere.send(message("jane@example.com")) is Delivery.RETRY


async def test_without_smtp_the_mail_is_a_file_only_its_owner_reads(tmp_path: Path) -> None:
    gateway = EmailGateway(FolderMailer(tmp_path / "mail"), "m@mkoba.test")
    assert await gateway.send(message("jane@example.com")) is Delivery.SENT
    (path,) = (tmp_path / "mail").glob("*.eml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "The text." in path.read_text()


def test_a_statement_order_is_read_strictly_and_never_shows_its_password() -> None:
    order = read_order("statement/1 sw 1042 2026-11-06 2026-12-05 K7MXQ2PA")
    assert order is not None and (order.language, order.party_id) == ("sw", 1042)
    assert "K7MXQ2PA" not in repr(order)
    for bad in (
        "statement/1 sw 1042 2026-11-06 2026-12-05 K7MXQ2PA\n",
        "statement/1 sw 1042 2026-13-06 2026-12-05 K7MXQ2PA",
        "statement/2 sw 1042 2026-11-06 2026-12-05 K7MXQ2PA",
        "sealed:abc",
    ):
        assert read_order(bad) is None
