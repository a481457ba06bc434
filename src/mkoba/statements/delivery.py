"""The statement deliverer: the outbox's ``statement`` gateway.

``full_statement`` commits an order for the customer's statement (a sealed outbox row
of template ``statement.delivery``: the customer, the range and the PDF's password,
addressed to the registered email). Once committed, the outbox hands it here: the
lines are read from TranProc's statement, rendered as a PDF locked with the password,
and mailed with a short text in the customer's language. The password itself reaches
the customer only by SMS (another sealed row of the same commit); it is never logged.
A store or mail server that fails is tried again on the outbox's schedule.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from mkoba.catalog import Profile
from mkoba.mail import EmailGateway, Mailer, compose, mailer_for
from mkoba.mail.gateway import deliver
from mkoba.messages import render
from mkoba.outbox import Delivery, Gateway, Message
from mkoba.parties import Directory
from mkoba.processor import history
from mkoba.statements.render import Statement, as_pdf, days_ns, lines_max

if TYPE_CHECKING:
    from mkoba.processor.services import Services
    from mkoba.settings import Settings

log = logging.getLogger("mkoba.statements")

_ORDER = re.compile(
    r"statement/1 (?P<language>[a-z]{2}) (?P<party>[0-9]{1,18})"
    r" (?P<start>[0-9]{4}-[0-9]{2}-[0-9]{2}) (?P<end>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r" (?P<password>[A-Za-z0-9]{6,64})"
)


class Order(NamedTuple):
    """What a statement order says: whose, for which days, in which language, locked how."""

    language: str
    party_id: int
    start: dt.date
    end: dt.date
    password: str

    def __repr__(self) -> str:
        return f"Order({self.party_id}, {self.start}..{self.end}, [secure])"


def read_order(body: str) -> Order | None:
    """The order a body holds, or None when it is not one."""
    found = _ORDER.fullmatch(body)
    if found is None:
        return None
    try:
        start = dt.date.fromisoformat(found["start"])
        end = dt.date.fromisoformat(found["end"])
    except ValueError:
        return None
    return Order(found["language"], int(found["party"]), start, end, found["password"])


class StatementGateway:
    """Builds and mails the statements customers ordered."""

    def __init__(
        self,
        mailer: Mailer,
        sender: str,
        store: history.Readable,
        directory: Callable[[], Directory],
        profile: Callable[[int], Profile],
        clock: Callable[[], int],
    ) -> None:
        self.mailer = mailer
        self.sender = sender
        self.store = store
        self.directory = directory
        self.profile = profile
        self.clock = clock

    async def send(self, message: Message) -> Delivery:
        """Read the lines, render the locked PDF, mail it to the order's address."""
        order = read_order(message.body)
        if order is None or order.end < order.start:
            log.error("outbox row %d is no statement order", message.id)
            return Delivery.FAILED
        party = self.directory().get(order.party_id)
        if party is None:
            log.error("outbox row %d: no party %d", message.id, order.party_id)
            return Delivery.FAILED
        profile = self.profile(self.clock())
        zone = profile.timezone
        since, until = days_ns(zone, order.start, order.end)
        opening, lines = await asyncio.to_thread(
            history.statement_between, self.store, party.id, since, until, lines_max
        )
        statement = Statement(
            party.name, party.msisdn or "", order.start, order.end, opening, lines
        )
        pdf = await asyncio.to_thread(
            as_pdf, statement, profile.currency, zone, profile.name, order.password
        )
        dates = {"start": order.start.isoformat(), "end": order.end.isoformat()}
        text = render("statement.email", order.language, {"name": party.name, **dates})
        mail = compose(self.sender, message.recipient, text)
        mail.add_attachment(
            pdf,
            maintype="application",
            subtype="pdf",
            filename=f"statement_{dates['start']}_{dates['end']}.pdf",
        )
        return await deliver(self.mailer, mail, "statement", message.id)


def mail_gateways(settings: Settings, services: Services) -> dict[str, Gateway]:
    """The outbox's mail gateways: codes (``email``) and statements, through one mailer.

    SMTP when the settings name a host; else (the embedded default) the mail folder.
    """
    mailer = mailer_for(settings)
    if not settings.smtp_host:
        log.info("no SMTP host set: mails are written to %s", settings.mail_dir)
    statements = StatementGateway(
        mailer,
        settings.mail_from,
        services.store,
        lambda: services.directory,
        services.profile,
        services.clock,
    )
    return {"email": EmailGateway(mailer, settings.mail_from), "statement": statements}
