"""``/staff/v1/reports``: the weekly CTR and STR drafts, downloaded as files.

Compliance files with the FIU what ``mkoba.risk.reports`` builds: the week's cash
transaction report (agent cash-ins and cash-outs at or above the profile's threshold)
and a suspicious transaction report draft for each alert whose STR clock runs. Here
they download, as goAML-style XML (checked before it is sent) or CSV, with a
``Content-Disposition`` naming the file. Nothing is filed from here, and nothing changes.

The policy's ``reports`` action decides who (compliance ``do``, the auditor ``view``:
both download, as nothing here writes). Every download, done or refused, is in the
audit trail (``reports.ctr`` with the week, ``reports.str`` with the alert), and so is
every look at the drafts (``reports.list``); never a secret. Nobody downloads an STR
draft about their own wallet. ``docs/risk-reports.md``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from fastapi import APIRouter, Query, Request, Response

from mkoba.channels.console.alert_routes import AlertOut, alert_out
from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.processor import history
from mkoba.risk.alert_schema import Alert
from mkoba.risk.alerts import Alerts
from mkoba.risk.reports import (
    Filer,
    Format,
    ctr_reference,
    export_ctr,
    export_str,
    problems,
    week_window,
)
from mkoba.risk.reports.str_draft import receipts_max

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

log = logging.getLogger(__name__)

MEDIA = {"xml": "application/xml; charset=utf-8", "csv": "text/csv; charset=utf-8"}
# A week as the page's week picker sends it (2026-W49), or its Monday's date.
_ISO_WEEK = re.compile(r"^([0-9]{4})-W([0-9]{2})$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# What the audit trail keeps of a parameter as given (else it says it was unreadable).
_PLAIN = re.compile(r"^[A-Za-z0-9-]{1,20}$")
# A file's name: letters, digits and dashes, then the format.
_STEM = re.compile(r"^[A-Za-z0-9-]{1,64}$")
week_chars_max = 20
# No CTR for a week before this one (mkoba keeps no receipts that old).
first_monday = date(2000, 1, 3)
# Live alerts read for the drafts list (those whose STR clock runs out first come first).
drafts_max = 200
# Where an alert's details name its transactions: receipts, or the requests that made them.
_RECEIPT_KEYS = ("receipt", "receipts")
_REQUEST_KEYS = ("request_id", "request_ids", "cash_out_request_ids")


class Download(NamedTuple):
    """A report as a file: its bytes, its name and its format."""

    body: bytes
    stem: str
    fmt: Format

    def response(self) -> Response:
        """The file as an attachment, never cached nor sniffed."""
        assert _STEM.fullmatch(self.stem), self.stem
        assert self.fmt in MEDIA, self.fmt
        return Response(
            self.body,
            media_type=MEDIA[self.fmt],
            headers={
                "Content-Disposition": f'attachment; filename="{self.stem}.{self.fmt}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )


def may_report(console: ConsoleChannel, who: Caller) -> None:
    """``Refusal`` (403) unless the caller's role has a part in the reports."""
    if not console.policy.sees(who.account.role, "reports"):
        raise Refusal(403, "Your role has no part in regulatory reports.")


def today(console: ConsoleChannel) -> date:
    """Today in the profile's time zone, by the platform's clock."""
    zone = console.ports.profile().timezone
    return datetime.fromtimestamp(console.ports.clock() // 1_000_000_000, zone).date()


def last_full_week(console: ConsoleChannel) -> date:
    """The Monday of the last week that is over (the default CTR)."""
    day = today(console)
    return day - timedelta(days=day.weekday() + 7)


def iso_week(monday: date) -> str:
    """A Monday as the week picker shows it: ``2026-W49``."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(text: str, now: date) -> date:
    """The Monday of ``text`` (``2026-W49``, or that Monday's date), a week that is over."""
    text = text.strip()
    shown = text[:week_chars_max]
    try:
        found = _ISO_WEEK.match(text)
        if found:
            monday = date.fromisocalendar(int(found[1]), int(found[2]), 1)
        elif _DAY.match(text):
            monday = date.fromisoformat(text)
        else:
            raise ValueError(text)
    except ValueError:
        raise Refusal(
            422, f"week: a week such as 2026-W49, or its Monday's date, not {shown!r}."
        ) from None
    if monday.weekday() != 0:
        raise Refusal(422, f"week: {monday.isoformat()} is a {monday:%A}: give the Monday.")
    if monday < first_monday:
        raise Refusal(422, f"week: none before {iso_week(first_monday)}.")
    if monday + timedelta(days=7) > now:
        raise Refusal(
            422, f"week: {iso_week(monday)} is not over yet: its report would be incomplete."
        )
    return monday


def parse_format(text: str) -> Format:
    """``xml`` or ``csv``; ``Refusal`` (422) for anything else."""
    if text == "xml":
        return "xml"
    if text == "csv":
        return "csv"
    raise Refusal(422, "format: xml or csv.")


def filer(console: ConsoleChannel, fmt: Format) -> Filer:
    """Who files, from the profile; XML needs the entity's goAML id (``MKOBA_GOAML_ENTITY``)."""
    profile = console.ports.profile()
    entity = console.goaml_entity
    if fmt == "xml" and not entity:
        raise Refusal(
            409,
            "XML needs the reporting entity's goAML id, which this server is not given"
            " (MKOBA_GOAML_ENTITY): download the CSV.",
        )
    return Filer(entity or "-", profile.currency, profile.country, profile.timezone)


def checked(body: bytes, fmt: Format) -> bytes:
    """The XML, well-formed and valid against our own XSD."""
    if fmt != "xml":
        return body
    found = problems(body)
    if found:
        log.error("a report did not pass our schema: %s", found[0])
        raise Refusal(500, "The report did not pass our own schema, so it was not sent.")
    return body


async def _audited(
    console: ConsoleChannel,
    who: Caller,
    where: str,
    action: str,
    entity: str,
    detail: dict[str, object],
    make: Awaitable[tuple[Download, dict[str, object]]],
) -> Download:
    """Run ``make`` (a coroutine giving a download and its details), auditing the outcome."""
    try:
        got, more = await make
    except Refusal as refusal:
        refused = {**detail, "status": refusal.status, "why": refusal.message}
        await record(console, who, where, action, "refused", entity=entity, detail=refused)
        raise
    await record(console, who, where, action, entity=entity, detail={**detail, **more})
    return got


async def ctr_download(
    console: ConsoleChannel, who: Caller, where: str, week: str, fmt_text: str
) -> Download:
    """The CTR of ``week`` (default: the last full week) as a file; audited."""
    # As the trail names it: what was asked for, if it is plain, else that it was not.
    asked = week.strip()
    shown = asked if _PLAIN.fullmatch(asked) else "unreadable" if asked else "last"
    detail: dict[str, object] = {"week": shown, "format": _plain(fmt_text)}

    async def make() -> tuple[Download, dict[str, object]]:
        may_report(console, who)
        fmt = parse_format(fmt_text)
        monday = parse_week(week, today(console)) if week.strip() else last_full_week(console)
        made = filer(console, fmt)
        start, end = week_window(monday, made.zone)
        # The threshold in force when the week began (the equivalent moves with the rate).
        risk = console.ports.profile_at(start).risk
        if risk is None:
            raise Refusal(409, "The profile has no risk section, so no CTR threshold.")
        generated = datetime.fromtimestamp(console.ports.clock() // 1_000_000_000, UTC)
        body = await asyncio.to_thread(
            _ctr_body, console, made, monday, risk.ctr_threshold, fmt, generated
        )
        more: dict[str, object] = {
            "week": iso_week(monday),
            "from": monday.isoformat(),
            "to": (monday + timedelta(days=6)).isoformat(),
            "threshold": risk.ctr_threshold,
            "bytes": len(body),
        }
        assert start < end
        return Download(checked(body, fmt), ctr_reference(monday), fmt), more

    entity = f"ctr:{shown}"
    return await _audited(console, who, where, "reports.ctr", entity, detail, make())


def _ctr_body(
    console: ConsoleChannel,
    made: Filer,
    monday: date,
    threshold: int,
    fmt: Format,
    generated: datetime,
) -> bytes:
    directory = console.reads.directory
    with console.tables.snapshot() as snapshot:
        return export_ctr(snapshot, directory, made, monday, threshold, fmt, generated)


def alert_queue(console: ConsoleChannel) -> Alerts:
    """The alert queue the drafts come from; ``Refusal`` (404) when none is kept here."""
    if console.alerts is None:
        raise Refusal(404, "This server keeps no compliance alerts.")
    return console.alerts


async def str_drafts(console: ConsoleChannel, who: Caller, where: str) -> list[AlertOut]:
    """The live alerts whose STR clock runs, the one due first on top; audited."""
    may_report(console, who)
    found = await alert_queue(console).list(state="live", limit=drafts_max)
    drafts = [alert for alert in found if alert.str_due]
    await record(console, who, where, "reports.list", detail={"drafts": len(drafts)})
    now = console.ports.clock()
    return [alert_out(console, who, alert, now) for alert in drafts]


async def str_download(
    console: ConsoleChannel, who: Caller, where: str, alert_id: int, fmt_text: str
) -> Download:
    """The STR draft of alert ``alert_id`` as a file; audited."""
    detail: dict[str, object] = {"format": _plain(fmt_text)}

    async def make() -> tuple[Download, dict[str, object]]:
        may_report(console, who)
        fmt = parse_format(fmt_text)
        alert = await alert_queue(console).get(alert_id)
        if alert is None:
            raise Refusal(404, f"There is no alert {alert_id}.")
        if who.account.phone and alert.msisdn == who.account.phone:
            raise Refusal(403, "This alert is about your own wallet: a colleague reports it.")
        if not alert.str_due:
            raise Refusal(
                409, f"Alert {alert_id} has no STR clock: escalate it to the reporting officer."
            )
        made = filer(console, fmt)
        generated = datetime.fromtimestamp(console.ports.clock() // 1_000_000_000, UTC)
        body, receipts = await asyncio.to_thread(_str_body, console, made, alert, fmt, generated)
        due = datetime.fromtimestamp(alert.str_due // 1_000_000_000, UTC)
        more: dict[str, object] = {
            "subject": alert.party_id,
            "due": due.isoformat(),
            "receipts": receipts,
            "bytes": len(body),
        }
        return Download(checked(body, fmt), f"STR-alert-{alert.id}", fmt), more

    entity = f"alert:{alert_id}"
    return await _audited(console, who, where, "reports.str", entity, detail, make())


def _str_body(
    console: ConsoleChannel, made: Filer, alert: Alert, fmt: Format, generated: datetime
) -> tuple[bytes, int]:
    """The draft's bytes and how many receipts it holds; ``Refusal`` (409) for none."""
    due = datetime.fromtimestamp(alert.str_due // 1_000_000_000, UTC)
    with console.tables.snapshot() as snapshot:
        receipts = named_receipts(snapshot, alert.details)
        if not receipts:
            raise Refusal(
                409,
                f"Alert {alert.id} names no transaction on record: draft its STR by hand"
                " (mkoba reports str).",
            )
        try:
            body = export_str(
                snapshot,
                console.reads.directory,
                made,
                alert.party_id,
                receipts,
                alert.summary,
                due,
                fmt,
                generated,
                reference=f"STR-ALERT-{alert.id}",
            )
        except ValueError as problem:
            raise Refusal(409, f"Alert {alert.id}: {problem}") from None
    return body, len(receipts)


def named_receipts(store: history.Readable, details: Mapping[str, Any]) -> list[str]:
    """The receipts an alert's details name: directly, or by the requests that made them.

    Those on record only, each once, in the order named (at most a draft's limit).
    """
    found: list[str] = []
    for key in _RECEIPT_KEYS:
        found.extend(r for r in _strings(details.get(key)) if history.receipt(store, r))
    for key in _REQUEST_KEYS:
        for request_id in _strings(details.get(key)):
            row = history.receipt_of_request(store, request_id)
            if row is not None:
                found.append(row.receipt)
    return list(dict.fromkeys(found))[:receipts_max]


def _plain(text: str) -> str:
    return text if _PLAIN.fullmatch(text) else "unreadable"


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str) and item]
    return []


def router(console: ConsoleChannel) -> APIRouter:
    """The reports' JSON list and their downloads."""
    api = APIRouter(prefix="/staff/v1/reports", tags=["reports"])
    files: dict[int | str, dict[str, Any]] = {
        200: {"content": {"application/xml": {}, "text/csv": {}}},
        403: {},
        404: {},
        409: {},
        422: {},
    }

    @api.get("/str", response_model=list[AlertOut], responses={403: {}, 404: {}})
    async def drafts(http: Request) -> list[AlertOut]:
        """The alerts whose STR is to be drafted (live, their clock running), due first."""
        who = await caller(console, http)
        return await str_drafts(console, who, origin(http))

    @api.get("/ctr", response_class=Response, responses=files)
    async def ctr(
        http: Request,
        week: str = Query("", max_length=week_chars_max),
        fmt: str = Query("xml", alias="format", max_length=8),
    ) -> Response:
        """The weekly CTR (``week``: 2026-W49 or its Monday; default the last full week),
        ``format`` xml (goAML-style) or csv."""
        who = await caller(console, http)
        return (await ctr_download(console, who, origin(http), week, fmt)).response()

    @api.get("/str/{alert_id}", response_class=Response, responses=files)
    async def str_draft(
        alert_id: int, http: Request, fmt: str = Query("xml", alias="format", max_length=8)
    ) -> Response:
        """The STR draft of an alert whose STR clock runs, ``format`` xml or csv."""
        who = await caller(console, http)
        return (await str_download(console, who, origin(http), alert_id, fmt)).response()

    return api
