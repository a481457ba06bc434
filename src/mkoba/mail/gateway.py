"""The outbox's ``email`` gateway: a rendered text becomes a mail to its recipient.

A message's body is a text from ``mkoba.messages`` whose first line is the subject and
the rest the mail's text (a one-time code: sealed in the outbox until this moment).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from mkoba.mail.transport import Mailer, MailError
from mkoba.outbox import Delivery, Message
from mkoba.parties.emails import mask_email

log = logging.getLogger("mkoba.mail")


def compose(sender: str, recipient: str, text: str) -> EmailMessage:
    """A plain-text mail from ``text``: its first line the subject, the rest the body."""
    subject, _, body = text.partition("\n")
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = subject.strip()
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = make_msgid(domain="mkoba")
    mail.set_content(body.strip() + "\n")
    return mail


async def deliver(mailer: Mailer, mail: EmailMessage, what: str, row: int) -> Delivery:
    """Send ``mail``; the outbox's word for what happened (logged without its content)."""
    recipient = mask_email(str(mail["To"]))
    try:
        await mailer.send(mail)
    except MailError as error:
        log.warning("%s to %s (outbox row %d) not sent: %s", what, recipient, row, error)
        return Delivery.RETRY if error.temporary else Delivery.FAILED
    log.info("%s sent to %s (outbox row %d)", what, recipient, row)
    return Delivery.SENT


class EmailGateway:
    """Sends the outbox's ``email`` messages through a mailer."""

    def __init__(self, mailer: Mailer, sender: str) -> None:
        self.mailer = mailer
        self.sender = sender

    async def send(self, message: Message) -> Delivery:
        """Compose and send one message."""
        mail = compose(self.sender, message.recipient, message.body)
        return await deliver(self.mailer, mail, "email", message.id)
