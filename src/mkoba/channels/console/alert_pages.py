"""The compliance alert queue in the back office: the list, one alert, and its forms.

Over the same functions as ``/staff/v1/alerts`` (``alert_routes``), so a page shows
nothing the API would refuse its caller and every look and action is audited there.
A held payment's release and refusal are ``hold_routes``' forms.
Actions are htmx posts to ``/staff/ui/alerts/...`` with the session's anti-forgery
token; a success answers with ``HX-Redirect`` to the alert, a refusal with its message
for the page's alert box.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError

from mkoba.channels.console import alert_routes, hold_routes
from mkoba.channels.console.alert_routes import RULE_PATTERN, STATE_PATTERN, AlertAction
from mkoba.channels.console.auth import Caller, Refusal, caller, origin
from mkoba.channels.console.pages import read_form, render_page, signed_in_page
from mkoba.edge.validation import validation_message

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel


def router(console: ConsoleChannel) -> APIRouter:
    """The alert pages over ``console``."""
    pages = APIRouter(prefix="/staff", include_in_schema=False)

    @pages.get("/alerts")
    async def alerts_page(
        http: Request,
        state: str = Query("live", pattern=STATE_PATTERN),
        rule: str = Query("", pattern=RULE_PATTERN),
        overdue: bool = False,
        mine: bool = False,
        page: int = Query(0, ge=0),
    ) -> Response:
        """The queue, filtered: the STR clock that runs out first on top."""
        who = await signed_in_page(console, http)
        if not isinstance(who, Caller):
            return who
        rows = await alert_routes.listing(
            console, who, origin(http), state, rule, overdue, page, mine
        )
        return render_page(
            console,
            "alerts.html",
            who,
            rows=rows,
            state=state,
            rule=rule,
            overdue=overdue,
            mine=mine,
            page=page,
            more=len(rows) == alert_routes.page_size,
            states=alert_routes.STATES_SHOWN,
        )

    @pages.get("/alerts/{alert_id}")
    async def alert_page(alert_id: int, http: Request) -> Response:
        """One alert: its details, its history and, for compliance, the forms."""
        who = await signed_in_page(console, http)
        if not isinstance(who, Caller):
            return who
        found = await alert_routes.one(console, who, origin(http), alert_id)
        return render_page(
            console,
            "alert.html",
            who,
            alert=found,
            works=alert_routes.works(console, who),
            decides=hold_routes.decides(console, who),
            reason_max=hold_routes.reason_chars_max,
        )

    @pages.post("/ui/alerts/{alert_id}/{verb}")
    async def act_page(alert_id: int, verb: str, http: Request) -> Response:
        """A form's action on an alert."""
        who = await caller(console, http, writes=True)
        fields = await read_form(http)
        try:
            body = AlertAction(to=fields.get("to", "").strip(), text=fields.get("text", ""))
        except ValidationError as invalid:
            raise Refusal(422, validation_message(invalid.errors())) from None
        await alert_routes.act(console, who, origin(http), alert_id, verb, body)
        return Response(status_code=204, headers={"HX-Redirect": f"/staff/alerts/{alert_id}"})

    return pages
