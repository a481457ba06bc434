"""How a mail leaves: SMTP (stdlib ``smtplib``, in a thread), or a folder of ``.eml`` files.

A failure says whether trying again may help (``MailError.temporary``): a server that
cannot be reached or answers 4xx, yes; one that refuses the address (5xx), no. No
message's content, and no credential, reaches a log or an error: mails hold codes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import ssl
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import SecretStr

if TYPE_CHECKING:
    from mkoba.settings import Settings

log = logging.getLogger("mkoba.mail")

Security = Literal["starttls", "tls", "none"]


class MailError(Exception):
    """A mail not sent: whether to try again, and why (never the mail's content)."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.temporary = temporary


class Mailer(Protocol):
    """Sends one composed mail; ``MailError`` when it could not."""

    async def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over for delivery."""
        ...


class SmtpMailer:
    """Mail through an SMTP server (a relay, the operator's or a provider's)."""

    def __init__(
        self,
        host: str,
        port: int,
        security: Security = "starttls",
        user: str | None = None,
        password: SecretStr | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.user = user
        self._password = password
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"SmtpMailer({self.host}:{self.port}, {self.security})"

    async def send(self, message: EmailMessage) -> None:
        """Send over SMTP, in a thread (smtplib blocks)."""
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        try:
            with self._connect() as smtp:
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    secret = self._password.get_secret_value() if self._password else ""
                    smtp.login(self.user, secret)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise MailError(
                f"the server refused the recipient ({codes})",
                temporary=all(400 <= code < 500 for code in codes),
            ) from None
        except smtplib.SMTPResponseException as error:
            code = error.smtp_code
            raise MailError(f"the server answered {code}", temporary=code < 500) from None
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"SMTP failed: {type(error).__name__}", temporary=True) from None

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=context)
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)


class FolderMailer:
    """Mail written to a folder, one ``.eml`` file each (readable by the owner only)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __repr__(self) -> str:
        return f"FolderMailer({self.folder})"

    async def send(self, message: EmailMessage) -> None:
        """Write the mail to the folder."""
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(message.as_bytes())
        except OSError as error:
            raise MailError(
                f"cannot write the mail: {type(error).__name__}", temporary=True
            ) from None
        log.info("no SMTP server configured: mail written to %s", path)


def mailer_for(settings: Settings) -> Mailer:
    """The mailer the settings ask for: SMTP when a host is set, else the mail folder."""
    if settings.smtp_host:
        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_security,
            settings.smtp_user,
            settings.smtp_password,
            settings.smtp_timeout_s,
        )
    return FolderMailer(settings.mail_dir)
