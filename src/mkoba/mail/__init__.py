"""Email out: the transport (SMTP, or a folder when none is configured) and its gateway.

The outbox hands ``email`` messages to ``EmailGateway`` (one-time codes) and the
statement deliverer (``mkoba.statements.delivery``) sends through the same ``Mailer``.
With no SMTP host set (the embedded default), every mail is written as an ``.eml``
file to a folder instead, so the platform runs, and a developer can read the codes,
without a mail server.
"""

from mkoba.mail.gateway import EmailGateway, compose
from mkoba.mail.transport import FolderMailer, Mailer, MailError, SmtpMailer, mailer_for

__all__ = [
    "EmailGateway",
    "FolderMailer",
    "MailError",
    "Mailer",
    "SmtpMailer",
    "compose",
    "mailer_for",
]
