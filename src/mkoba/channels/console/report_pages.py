"""The regulatory reports in the back office: the CTR's week picker and the STR drafts.

Over the same functions as ``/staff/v1/reports`` (``report_routes``), so a page offers
nothing the API would refuse its caller, and every look and download is audited there.
Downloads are plain links and a GET form (nothing changes, so no anti-forgery token):
the file comes as an attachment, a refusal as the error page with its status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Query, Request, Response

from mkoba.channels.console import report_routes
from mkoba.channels.console.alert_routes import AlertOut
from mkoba.channels.console.auth import Caller, origin
from mkoba.channels.console.pages import render_page, signed_in_page
from mkoba.channels.console.report_routes import week_chars_max

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel


def router(console: ConsoleChannel) -> APIRouter:
    """The report pages over ``console``."""
    pages = APIRouter(prefix="/staff", include_in_schema=False)

    @pages.get("/reports")
    async def reports_page(http: Request) -> Response:
        """The CTR's week (the last full one by default) and the STR drafts with their clocks."""
        who = await signed_in_page(console, http)
        if not isinstance(who, Caller):
            return who
        report_routes.may_report(console, who)
        drafts: list[AlertOut] | None = None
        if console.alerts is not None:
            drafts = await report_routes.str_drafts(console, who, origin(http))
        monday = report_routes.last_full_week(console)
        risk = console.ports.profile().risk
        return render_page(
            console,
            "reports.html",
            who,
            week=report_routes.iso_week(monday),
            threshold=risk.ctr_threshold if risk is not None else None,
            xml=bool(console.goaml_entity),
            drafts=drafts,
        )

    @pages.get("/reports/ctr")
    async def ctr_file(
        http: Request,
        week: str = Query("", max_length=week_chars_max),
        fmt: str = Query("xml", alias="format", max_length=8),
    ) -> Response:
        """The week's CTR as a file."""
        who = await signed_in_page(console, http)
        if not isinstance(who, Caller):
            return who
        got = await report_routes.ctr_download(console, who, origin(http), week, fmt)
        return got.response()

    @pages.get("/reports/str/{alert_id}")
    async def str_file(
        alert_id: int, http: Request, fmt: str = Query("xml", alias="format", max_length=8)
    ) -> Response:
        """An alert's STR draft as a file."""
        who = await signed_in_page(console, http)
        if not isinstance(who, Caller):
            return who
        got = await report_routes.str_download(console, who, origin(http), alert_id, fmt)
        return got.response()

    return pages
