"""Full statements on *334#: register an email with the code it was sent, then ask.

Each test plays the USSD gateway for one phone against a real ``mkoba serve`` whose
mail goes to a folder (no SMTP server: the embedded default), and reads what the
customer would: the screens, the code in the mail, the password in the SMS, and the
statement PDF attached to the mail.
"""

from __future__ import annotations

import email
import io
import re
import time
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import httpx
import pypdf

from tests.channels.gateway import Dial
from tests.channels.serving import Served
from tests.channels.ussd.conftest import CUSTOMER_PIN, customer, last_sms_id, wait_sms


def wait_mail(folder: Path, address: str, subject: str) -> EmailMessage:
    """The newest mail to ``address`` whose subject starts with ``subject`` (waits)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for path in sorted(folder.glob("*.eml"), reverse=True):
            mail = email.message_from_bytes(path.read_bytes(), policy=default)
            assert isinstance(mail, EmailMessage)
            if mail["To"] == address and str(mail["Subject"]).startswith(subject):
                return mail
        time.sleep(0.1)
    raise AssertionError(f"no mail {subject!r} to {address}")


def test_a_customer_registers_an_email_and_gets_the_statement_there(
    client: httpx.Client, server: Served
) -> None:
    phone = customer(client, 100)
    mail_dir = server.db.parent / "mail"
    address = f"kamau.{phone}@example.com"
    shown = "k***@example.com"

    # No address yet: the answer says how to register one.
    none_yet = Dial(client, phone).walk("7", "7", "1", "1", CUSTOMER_PIN)
    assert none_yet.startswith("END No email is registered for statements.")
    assert "Full Statement, Register email" in none_yet

    dial = Dial(client, phone)
    dial.start()
    assert dial.send("7").splitlines()[-3:-1] == ["7 Full Statement", "8 PIN Manager"]
    assert dial.send("7").startswith(
        "CON Full Statement\n1 Request statement\n2 Register email\n3 Confirm email"
    )
    assert dial.send("2").startswith("CON Enter your email address")
    assert dial.send("kamau at example").startswith(
        "CON Enter an email address such as name@example.com.\nEnter your email address"
    )
    sent = dial.send(address)
    assert sent.startswith(f"END Code sent to {address}. Dial *334#")
    code_mail = wait_mail(mail_dir, address, "Your M-PESA email code")
    body = code_mail.get_body(("plain",))
    assert body is not None
    code = re.search(r"Your code is ([0-9]{6})\.", str(body.get_content()))
    assert code

    after = last_sms_id(client, phone)
    confirm = Dial(client, phone)
    assert confirm.walk("7", "7", "3").startswith("CON Enter the code we emailed you")
    assert confirm.send(code[1]).startswith("CON Enter M-PESA PIN")
    assert confirm.send(CUSTOMER_PIN) == f"END Your M-PESA statements will be sent to {shown}."
    wait_sms(client, phone, after, "Your M-PESA statements will be sent to")

    ask = Dial(client, phone)
    assert ask.walk("7", "7", "1").startswith("CON Statement period\n1 Last 1 month")
    assert ask.send("2").startswith(
        "CON Email your statement of the last 3 month(s)?\nEnter M-PESA PIN"
    )
    done = ask.send(CUSTOMER_PIN)
    assert done.startswith("END Your statement from ") and f"emailed to {shown}" in done
    start, end = re.findall(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", done)
    sms = wait_sms(client, phone, after, "Open it with the password")
    password = re.search(r"password ([A-Z0-9]{8})\.", sms)
    assert password, sms

    mail = wait_mail(mail_dir, address, "Your M-PESA statement")
    (attachment,) = list(mail.iter_attachments())
    reader = pypdf.PdfReader(io.BytesIO(attachment.get_content()))
    assert reader.is_encrypted
    assert reader.decrypt(password[1]) != pypdf.PasswordType.NOT_DECRYPTED
    text = reader.pages[0].extract_text()
    assert phone in text and f"{start} to {end}" in text
    # The order and the SMS held the password sealed; the server's log never saw it.
    logged = server.log.read_text(errors="replace")
    assert password[1] not in logged
    assert re.search(rf"(?<![0-9.]){code[1]}(?![0-9])", logged) is None
