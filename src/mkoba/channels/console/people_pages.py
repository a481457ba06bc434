"""The back office's staff pages: the roster, one member, a new member, and enrolment.

The roster and a member's page are for the roles with a part in ``staff_users``;
their changes are staff commands, started from the generic command form (or the new
member form) and approved on the command's page. The enrolment page needs no
session: only a token that still works; it shows the TOTP seed to enrol, once
enrolled never again, and sends no ``Referer`` anywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from mkoba.channels.console import enrol
from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.channels.console.pages import read_form, render_page
from mkoba.channels.console.staff_routes import may_see_staff, member_out, roster
from mkoba.staff import accounts
from mkoba.staff import commands as book
from mkoba.staff.policy import Mode
from mkoba.text import text_problem

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

# What a member's page offers to start, by the member's state.
CHANGES = ("set_staff_role", "suspend_staff", "reactivate_staff", "reset_staff_credentials")


def router(console: ConsoleChannel) -> APIRouter:
    """The staff pages over ``console``."""
    pages = APIRouter(prefix="/staff", include_in_schema=False)

    async def signed_in(http: Request) -> Caller | Response:
        try:
            who = await caller(console, http)
        except Refusal as refusal:
            if refusal.status == 401:
                return RedirectResponse("/staff/", status_code=303)
            raise
        may_see_staff(console, who)
        return who

    def makes(who: Caller) -> bool:
        return console.policy.may(who.account.role, "staff_users", Mode.MAKE)

    @pages.get("/people")
    async def people(http: Request) -> Response:
        """Every member of staff."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        out = await roster(console)
        await record(console, who, origin(http), "staff.list", detail={"rows": len(out)})
        return render_page(console, "people.html", who, people=out, makes=makes(who))

    @pages.get("/people/new")
    async def new(http: Request) -> Response:
        """The form for a new member of staff."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        if not makes(who):
            raise Refusal(403, "Your role may not make staff accounts.")
        return render_page(console, "person_new.html", who, roles=console.policy.roles)

    @pages.get("/people/{username}")
    async def person(username: str, http: Request) -> Response:
        """One member of staff, the commands on them, and what may be started."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        found = await console.read(accounts.member, username[:64])
        if found is None:
            raise Refusal(404, "There is no such member of staff.")
        entity = f"staff:{found.username}"
        await record(console, who, origin(http), "staff.view", entity=entity)
        shown = await member_out(console, found)
        history = await console.read(book.on_entity, entity, 20)
        changes: list[str] = []
        if makes(who) and found.username != who.account.username:
            suspended = not found.enabled
            changes = [
                product
                for product in CHANGES
                if (product == "reactivate_staff") == suspended
                or product == "reset_staff_credentials"
            ]
        return render_page(
            console, "person.html", who, person=shown, history=history, changes=changes
        )

    @pages.get("/enrol/{token}")
    async def enrolment(token: str, http: Request) -> Response:
        """Enrol with a working token: the seed to add, the password to choose."""
        try:
            opened = await enrol.opened(console, token[:100], origin(http))
        except Refusal as refusal:
            response = render_page(
                console, "error.html", None, refusal.status, message=refusal.message
            )
        else:
            response = render_page(console, "enrol.html", None, enrolling=opened, token=token)
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @pages.post("/ui/enrol")
    async def enrolled(http: Request) -> Response:
        """Complete an enrolment from the form."""
        fields = await read_form(http)
        token = fields.get("token", "")[:100]
        password = fields.get("password", "")
        if password != fields.get("again", ""):
            raise Refusal(422, "The two passwords differ.")
        code = fields.get("code", "")
        if len(code) != 6 or not code.isdigit():
            raise Refusal(422, "Give the 6-digit code your authenticator shows now.")
        if len(password) > 256:
            raise Refusal(422, "A password has at most 256 characters.")
        problem = text_problem(password)
        if problem is not None:
            raise Refusal(422, f"The password {problem}.")
        await enrol.complete(console, token, password, code, origin(http))
        return Response(status_code=204, headers={"HX-Redirect": "/staff/?enrolled=1"})

    return pages
