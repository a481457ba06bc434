"""A customer's full statement reaches their inbox through a real SMTP server.

Method: an SMTP server (aiosmtpd) runs in the test; the platform is configured to
send through it. A customer registers an address with the code the server received,
asks for a statement with the PIN, reads the password in their SMS, and the test
opens the mailed PDF as the customer would (pypdf): not without the password, and
with it showing their lines. Canary secrets (the PIN, the code, the password) are
looked for in everything the platform logged meanwhile.
"""

from __future__ import annotations

import asyncio
import email
import io
import logging
import re
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pypdf
import pytest
from aiosmtpd.controller import Controller

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.processor import history
from mkoba.processor.request import Channel
from tests.channels.serving import free_port
from tests.conftest import MakePlatform
from tests.products.world import World

pytestmark = pytest.mark.anyio

# A PIN that appears nowhere else: if it is in a log, the log leaked it.
CANARY_PIN = "864213"
SENDER = "M-PESA <statements@mkoba.test>"


class Inbox:
    """What the SMTP server received: (envelope recipients, the parsed mail)."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook: keep the mail."""
        mail = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(mail, EmailMessage)
        self.mails.append((list(envelope.rcpt_tos), mail))
        return "250 Message accepted for delivery"

    async def wait(self, address: str, subject: str) -> EmailMessage:
        """The first mail to ``address`` whose subject starts with ``subject``."""
        for _ in range(500):
            for recipients, mail in self.mails:
                if recipients == [address] and str(mail["Subject"]).startswith(subject):
                    return mail
            await asyncio.sleep(0.02)
        raise AssertionError(f"no mail {subject!r} to {address}")


@pytest.fixture(scope="module")
def smtp(module_store_url: str) -> Any:
    """A real SMTP server on a free local port (one per store the module runs on)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform, smtp: Any) -> Platform:
    """The module's platform, mailing through the test's SMTP server."""
    controller, _ = smtp
    return await make_platform(
        "delivery",
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_security="none",
        mail_from=SENDER,
    )


def text_of(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def test_the_statement_is_mailed_locked_and_opens_with_the_sms_password(
    platform: Platform, smtp: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, inbox = smtp
    world = await World(platform).setup()
    client = await world.customer(300, pin=CANARY_PIN, name="Wanjiku Kamau")
    friend = await world.customer()
    msisdn = client.msisdn or ""
    sent = await world.ask("send_money", msisdn, CANARY_PIN, to=friend.msisdn or "", amount="120")
    assert sent.code is Code.OK, sent
    address = "wanjiku@example.co.ke"

    # The code goes to the address, and only there.
    asked = await world.ask("email_code", msisdn, channel=Channel.USSD, address=address)
    assert asked.code is Code.OK, asked
    code_mail = await inbox.wait(address, "Your M-PESA email code")
    assert code_mail["From"] == SENDER
    code = re.search(r"Your code is ([0-9]{6})\.", text_of(code_mail))
    assert code, text_of(code_mail)
    registered = await world.ask("register_email", msisdn, CANARY_PIN, code=code[1])
    assert registered.code is Code.OK, registered

    ordered = await world.ask("full_statement", msisdn, CANARY_PIN, months="1")
    assert ordered.code is Code.OK, ordered
    (sms,) = [text for text in await world.sms_to(msisdn) if "password" in text]
    assert "w***@example.co.ke" in sms
    password = re.search(r"password ([A-Z0-9]{8})\.", sms)
    assert password, sms

    mail = await inbox.wait(address, "Your M-PESA statement")
    assert "Dear Wanjiku Kamau" in text_of(mail)
    assert password[1] not in text_of(mail)
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    pdf = attachment.get_content()
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")

    locked = pypdf.PdfReader(io.BytesIO(pdf))
    assert locked.is_encrypted
    with pytest.raises(pypdf.errors.FileNotDecryptedError):
        locked.pages[0].extract_text()
    assert locked.decrypt("WRONGPW2") == pypdf.PasswordType.NOT_DECRYPTED
    opened = pypdf.PdfReader(io.BytesIO(pdf))
    assert opened.decrypt(password[1]) != pypdf.PasswordType.NOT_DECRYPTED
    text = "\n".join(page.extract_text() for page in opened.pages)
    assert "Wanjiku Kamau" in text and "Closing balance" in text
    lines = await asyncio.to_thread(history.statement, platform.services.store, client.id, 50)
    assert lines and sent.receipt in {line.receipt for line in lines}
    for line in lines:
        assert line.receipt in text

    # Nothing the platform logged on the way held a secret (the test's SMTP server logs
    # the mails it receives, as a mail server's debug log does: not the platform's).
    logged = "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''}"
        for record in caplog.records
        if record.name != "mail.log"
    )
    assert CANARY_PIN not in logged
    assert re.search(rf"(?<![0-9.]){code[1]}(?![0-9])", logged) is None
    assert password[1] not in logged
    assert "statement sent to w***@example.co.ke" in logged
    assert address not in logged
