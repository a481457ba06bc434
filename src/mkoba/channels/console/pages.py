"""The back office in the browser: pages rendered on the server over the staff API's core.

Each page reads through the same functions as the JSON routes (the desk, the customer
360, the reversal queue, the audit trail), so a page can show nothing the API would
refuse its caller. Writes are htmx posts to ``/staff/ui/...``, carrying the session's
anti-forgery token in ``X-CSRF-Token`` (the page's ``hx-headers``); a success answers
with ``HX-Redirect`` to the page that shows it, a refusal with its message, which the
page shows in its alert. Nothing is loaded from elsewhere: htmx is vendored in
``static/`` (``static/VENDORED.md``), and the pages work at a phone's width.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import escape

from mkoba.channels.console import audit_routes, customers, finance, ticket_routes
from mkoba.channels.console.auth import (
    Caller,
    Refusal,
    caller,
    enter,
    leave,
    origin,
    record,
    set_session_cookie,
)
from mkoba.channels.console.command_routes import command_out, held_reversals
from mkoba.channels.console.desk import PRODUCTS, command_class
from mkoba.channels.console.enrol import link_shown
from mkoba.commands import shape
from mkoba.money import format_amount
from mkoba.staff import audit
from mkoba.staff import commands as book
from mkoba.staff.policy import Mode
from mkoba.text import text_problem

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

STATIC = Path(__file__).parent / "static"
QUEUES = ("care_l1", "care_l2", "compliance")
# The menu's links shown to the roles with a part in their action: link, action.
MENU = {
    "reversals": "reversal", "tickets": "tickets", "alerts": "alerts",
    "finance": "reconciliation", "bulk": "bulk_disbursement", "dashboards": "dashboards",
    "callbacks": "callbacks", "staff": "staff_users", "reports": "reports", "rules": "risk_rules",
}  # fmt: skip
# A form's body is at most this long (the edge refuses bodies over 64 KiB before it).
form_chars_max = 16_384

# What staff read for each product, and a hint for each field.
TITLES = {
    "issue_emoney": "Issue e-money",
    "redeem_emoney": "Redeem e-money",
    "unlock_pin": "Unlock a PIN",
    "reset_pin": "Reset a PIN",
    "approve_reversal": "Approve a reversal",
    "reject_reversal": "Reject a reversal",
    "freeze_wallet": "Freeze a wallet",
    "unfreeze_wallet": "Unfreeze a wallet",
    "set_kyc_tier": "Change a KYC tier",
    "note_ticket": "Note on a ticket",
    "assign_ticket": "Give a ticket to someone",
    "resolve_ticket": "Resolve a ticket",
    "onboard_business": "Onboard a business",
    "bulk_disbursement": "Bulk disbursement",
    "create_staff": "Make a staff account",
    "set_staff_role": "Change a staff role",
    "suspend_staff": "Suspend a member of staff",
    "reactivate_staff": "Reactivate a member of staff",
    "reset_staff_credentials": "Reset staff credentials",
}
# Products started from a page of their own rather than the command form.
STARTS = {"bulk_disbursement": "/staff/bulk"}
HINTS = {
    "kind": "operator, super_agent, agent_store, organisation or merchant",
    "to": "the holder's agent, paybill or till number (not for the operator)",
    "account": "optional: fees, float, utility, working or till",
    "amount": "in shillings, e.g. 1000 or 1000.50",
    "reference": "the bank's reference for the money in the trust account",
    "customer": "the customer's phone number",
    "receipt": "the transaction code, e.g. UKN3QX7T2B",
    "reason": "why (shown to the checker and kept)",
    "tier": "one of the profile's KYC tiers",
    "name": "the business's name",
    "number": "its agent, till or paybill number (stores and assistants: none)",
    "phone": "its phone number (paybills: optional)",
    "parent": "a store's head office number, or an assistant's store (e.g. 123456/2)",
    "tariff": "a paybill's: customer_bears, business_bears or shared",
    "username": "what they sign in as: letters, digits, . - _ @",
    "create_staff.name": "their full name",
    "create_staff.phone": "optional: their own wallet's number (they never act on it)",
    "create_staff.role": "one of the staff policy's roles",
    "set_staff_role.role": "one of the staff policy's roles",
    "onboard_business.kind": (
        "super_agent, agent_head_office, agent_store, agent_assistant, merchant or organisation"
    ),
}


def _templates() -> Environment:
    environment = Environment(
        loader=PackageLoader("mkoba.channels.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = _when
    return environment


def _when(ns: int) -> str:
    """A moment as staff read it (UTC, to the minute)."""
    if not ns:
        return ""
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _clock(left_s: int) -> str:
    """A ticket's clock as staff read it: due in 3 h 20 min, or overdue by 15 min."""
    minutes = abs(left_s) // 60
    hours, minutes = divmod(minutes, 60)
    span = f"{hours} h {minutes} min" if hours else f"{minutes} min"
    return f"due in {span}" if left_s >= 0 else f"overdue by {span}"


# One environment for every page (templates compile once).
TEMPLATES = _templates()


def render_page(
    console: ConsoleChannel, name: str, who: Caller | None, status: int = 200, **values: Any
) -> HTMLResponse:
    """A page, with what every page needs: the caller, the CSRF token, the menu's links."""
    role = who.account.role if who is not None else ""
    policy = console.policy

    def money(minor: int) -> str:
        return format_amount(minor, console.ports.profile().currency)

    html = TEMPLATES.get_template(name).render(
        who=who.account if who is not None else None,
        csrf=who.session.csrf if who is not None else "",
        sees_customers=bool(who) and policy.may(role, "customer_view", Mode.VIEW),
        **{f"sees_{link}": bool(who) and policy.sees(role, a) for link, a in MENU.items()},
        clock=_clock,
        sees_audit=bool(who) and policy.may(role, "audit_log", Mode.VIEW),
        money=money,
        titles=TITLES,
        starts=STARTS,
        **values,
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def router(console: ConsoleChannel) -> APIRouter:
    """The back office's pages over ``console``."""
    pages = APIRouter(prefix="/staff", include_in_schema=False)

    def render(name: str, who: Caller | None, status: int = 200, **values: Any) -> HTMLResponse:
        return render_page(console, name, who, status, **values)

    async def signed_in(http: Request) -> Caller | Response:
        return await signed_in_page(console, http)

    def done(url: str) -> Response:
        return Response(status_code=204, headers={"HX-Redirect": url})

    async def form(http: Request) -> dict[str, str]:
        return await read_form(http)

    @pages.get("/")
    async def start(http: Request) -> Response:
        """Sign in, or home when signed in."""
        found = await signed_in(http)
        if isinstance(found, Caller):
            return RedirectResponse("/staff/home", status_code=303)
        return render("sign_in.html", None)

    @pages.post("/ui/sign-in")
    async def sign_in(http: Request) -> Response:
        """Both factors from the sign-in form."""
        fields = await form(http)
        username = fields.get("username", "")[:64]
        password = fields.get("password", "")[:256]
        code = fields.get("code", "")[:6]
        if not username or not password or len(code) != 6 or not code.isdigit():
            raise Refusal(422, "Give your username, password and the 6-digit code.")
        _, session_id, _ = await enter(console, username, password, code, origin(http))
        response = done("/staff/home")
        set_session_cookie(response, session_id, http)
        return response

    @pages.post("/ui/sign-out")
    async def sign_out(http: Request) -> Response:
        """End the session."""
        who = await caller(console, http, writes=True)
        await leave(console, who, origin(http))
        return done("/staff/")

    @pages.get("/home")
    async def home(http: Request) -> Response:
        """What waits for the caller, and their own latest commands."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        role = who.account.role
        actions = tuple(a for a in console.policy.actions if console.policy.sees(role, a))
        found = await console.read(book.listing, (), actions, 200) if actions else []
        shown = [command_out(console, who, command) for command in found]
        waiting = [c for c in shown if "approve" in c.may]
        mine = [c for c in shown if c.maker == who.account.username][:20]
        makes = _products_for(console, who)
        await record(console, who, origin(http), "commands.list", detail={"page": "home"})
        return render("home.html", who, waiting=waiting, mine=mine, makes=makes)

    @pages.get("/commands/new")
    async def new_command(
        http: Request, product: str = Query("", max_length=40, pattern=r"^[a-z_]*$")
    ) -> Response:
        """The form for one product's command (its fields as its command declares them)."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        makes = _products_for(console, who)
        if product not in makes:
            raise Refusal(404, "Your role may not start that.")
        if product in STARTS:
            return RedirectResponse(STARTS[product], status_code=303)
        fields = [
            {
                "name": f.name,
                "required": f.required,
                "hint": HINTS.get(f"{product}.{f.name}", HINTS.get(f.name, "")),
            }
            for f in shape(command_class(product))
        ]
        prefill = {k: v[:200] for k, v in http.query_params.items() if k != "product"}
        return render("new_command.html", who, product=product, fields=fields, prefill=prefill)

    @pages.post("/ui/commands")
    async def make(http: Request) -> Response:
        """Start a command from the form."""
        who = await caller(console, http, writes=True)
        fields = await form(http)
        product = fields.pop("product", "")
        note = fields.pop("note", "")[: book.note_chars_max]
        given = {name: value for name, value in fields.items() if value != ""}
        if product not in PRODUCTS:
            raise Refusal(404, f"There is no staff action {product[:40]!r}.")
        made = await console.desk.make(who, product, given, note, origin(http))
        if made.action == "tickets" and made.state == "done":
            return done(f"/staff/tickets/{given.get('ticket', '')}")
        return done(f"/staff/commands/{made.id}")

    @pages.get("/commands/{command_id}")
    async def command_page(command_id: int, http: Request) -> Response:
        """One command: its before/after view and what the caller may do with it."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        found = await console.read(book.get, command_id)
        if found is None or not console.policy.sees(who.account.role, found.action):
            raise Refusal(404, f"There is no command {command_id}.")
        await record(console, who, origin(http), "commands.view", detail={"command": command_id})
        return render("command.html", who, command=command_out(console, who, found))

    @pages.post("/ui/commands/{command_id}/{verb}")
    async def decide(command_id: int, verb: str, http: Request) -> Response:
        """Approve (with a fresh code), reject (with a reason) or cancel."""
        who = await caller(console, http, writes=True)
        fields = await form(http)
        desk = console.desk
        if verb == "approve":
            code = fields.get("code", "")
            if len(code) != 6 or not code.isdigit():
                raise Refusal(422, "Give your authenticator's current 6-digit code.")
            approved = await desk.approve(who, command_id, code, origin(http))
            token = approved.outcome.get("enrolment_token")
            if token:  # shown once, here: the page the approver is on keeps it
                return link_shown(http, str(token), approved.fields.get("username", ""))
        elif verb == "reject":
            reason = fields.get("reason", "").strip()[: book.note_chars_max]
            if not reason:
                raise Refusal(422, "Say why you reject it.")
            await desk.reject(who, command_id, reason, origin(http))
        elif verb == "cancel":
            await desk.cancel(who, command_id, origin(http))
        else:
            raise Refusal(404, "No such decision.")
        return done(f"/staff/commands/{command_id}")

    @pages.get("/customers")
    async def customer_search(
        http: Request,
        by: str = Query("phone", pattern=r"^(phone|id|receipt)$"),
        q: str = Query("", max_length=64, pattern=r"^[A-Za-z0-9 +-]*$"),
    ) -> Response:
        """Find a customer by phone, ID number or receipt."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        unmasked = customers.may_look(console, who)
        matches: list[customers.Match] = []
        if q:
            found = await customers.search_parties(console, by, q)
            detail: dict[str, object] = {"by": by, "found": [p.id for p in found]}
            await record(console, who, origin(http), "customer.search", detail=detail)
            matches = [customers.as_match(party, unmasked) for party in found]
        return render("customers.html", who, by=by, q=q, matches=matches, searched=bool(q))

    @pages.get("/customers/{party_id}")
    async def customer_page(party_id: int, http: Request) -> Response:
        """One customer whole."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        unmasked = customers.may_look(console, who)
        party = console.reads.directory.get(party_id)
        if party is None or party.kind.value in ("operator", "staff"):
            raise Refusal(404, f"There is no customer {party_id}.")
        whole = await customers.seen_whole(console, party, unmasked)
        detail: dict[str, object] = {"unmasked": unmasked}
        entity = f"party:{party.id}"
        await record(console, who, origin(http), "customer.view", entity=entity, detail=detail)
        makes = _products_for(console, who)
        number = party.msisdn or ""
        return render("customer.html", who, customer=whole, makes=makes, number=number)

    @pages.get("/reversals")
    async def reversals(http: Request) -> Response:
        """The queue of held reversal requests."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        if not console.policy.sees(who.account.role, "reversal"):
            raise Refusal(403, "Your role has no part in reversals.")
        held = await held_reversals(console, 200)
        await record(console, who, origin(http), "reversals.list", detail={"rows": len(held)})
        makes = _products_for(console, who)
        return render("reversals.html", who, held=held, makes=makes)

    @pages.get("/audit")
    async def audit_page(
        http: Request,
        actor: str = Query("", max_length=64, pattern=r"^[A-Za-z0-9._:@+-]*$"),
        action: str = Query("", max_length=64, pattern=r"^[A-Za-z0-9._:@+-]*$"),
        entity: str = Query("", max_length=200, pattern=r"^[A-Za-z0-9._:@+-]*$"),
        before: int = Query(0, ge=0),
    ) -> Response:
        """The audit trail, newest first, filtered."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        if not console.policy.may(who.account.role, "audit_log", Mode.VIEW):
            raise Refusal(403, "Your role may not see the audit trail.")
        wanted = audit.Filter(actor=actor, action=action, entity=entity, before=before)
        entries = await console.read(audit.entries, wanted, audit_routes.page_max // 5)
        await record(console, who, origin(http), "audit.browse", detail=wanted._asdict())
        verifies = console.policy.may(who.account.role, "audit_log", Mode.DO)
        return render(
            "audit.html",
            who,
            entries=entries,
            actor=actor,
            action=action,
            entity=entity,
            verifies=verifies,
        )

    @pages.get("/tickets")
    async def tickets(
        http: Request,
        queue: str = Query("", pattern=r"^(care_l1|care_l2|compliance)?$"),
        state: str = Query("open", pattern=r"^(open|resolved)$"),
    ) -> Response:
        """The care queues, the tickets due first."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        ticket_routes.may_see_tickets(console, who)
        found = await console.reads.tickets.queue(state, queue, 200)
        detail: dict[str, object] = {"state": state, "queue": queue, "rows": len(found)}
        await record(console, who, origin(http), "tickets.list", detail=detail)
        now = console.ports.clock()
        shown = [ticket_routes.ticket_out(console, who, ticket, now) for ticket in found]
        return render("tickets.html", who, tickets=shown, queue=queue, state=state, queues=QUEUES)

    @pages.get("/tickets/{ticket_id}")
    async def ticket_page(ticket_id: int, http: Request) -> Response:
        """One ticket, its notes, and the forms to work it."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        ticket_routes.may_see_tickets(console, who)
        found = await console.reads.tickets.get(ticket_id)
        if found is None:
            raise Refusal(404, f"There is no request {ticket_id}.")
        await record(console, who, origin(http), "tickets.view", entity=f"ticket:{ticket_id}")
        ticket = ticket_routes.ticket_out(console, who, found, console.ports.clock())
        works = console.policy.may(who.account.role, "tickets", Mode.DO)
        return render("ticket.html", who, ticket=ticket, works=works)

    @pages.get("/finance")
    async def finance_page(
        http: Request,
        day: dt.date | None = None,
        bank: int | None = Query(None, ge=0),
    ) -> Response:
        """The daily finance pack (today's unless a day is given)."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        finance.may_see_finance(console, who)
        zone = console.ports.profile().timezone
        day = day or dt.datetime.fromtimestamp(console.ports.clock() / 1e9, zone).date()
        made = await finance.make_pack(console, day, bank)
        detail: dict[str, object] = {"day": day.isoformat(), "format": "page"}
        await record(console, who, origin(http), "finance.pack", detail=detail)
        return render("finance.html", who, pack=made, bank=bank)

    @pages.post("/ui/audit/verify")
    async def verify(http: Request) -> Response:
        """Walk the chain; say whether it holds, or the first entry it does not vouch for."""
        who = await caller(console, http, writes=True)
        if not console.policy.may(who.account.role, "audit_log", Mode.DO):
            raise Refusal(403, "Only the auditor checks the audit trail.")
        checked, broken = await console.read(audit.verify, console.trail.key)
        await record(console, who, origin(http), "audit.verify", detail={"checked": checked})
        if broken is None:
            text = f"The chain holds: {checked} entries checked."
        else:
            text = f"Entry {broken.seq} is broken: {broken.reason}."
        return HTMLResponse(escape(text))

    return pages


async def read_form(http: Request) -> dict[str, str]:
    """A posted form's fields (the last value of each): bounded, UTF-8, storable text."""
    raw = await http.body()
    if len(raw) > form_chars_max:
        raise Refusal(413, "The form is too large.")
    try:
        body = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise Refusal(422, "The form is not UTF-8 text.") from None
    found = {name: got[-1] for name, got in parse_qs(body, keep_blank_values=True).items()}
    for name, value in found.items():
        problem = text_problem(name) or text_problem(value)
        if problem is not None:
            raise Refusal(422, f"{name[:40]!r} {problem}")
    return found


async def signed_in_page(console: ConsoleChannel, http: Request) -> Caller | Response:
    """The page's caller, or the way to the sign-in page when nobody is signed in."""
    try:
        return await caller(console, http)
    except Refusal as refusal:
        if refusal.status == 401:
            return RedirectResponse("/staff/", status_code=303)
        raise


def refusal_page(http: Request, refusal: Refusal) -> Response:
    """A refusal on a page: the message for htmx to show, or a page of its own."""
    if http.headers.get("HX-Request"):
        return HTMLResponse(escape(refusal.message), status_code=refusal.status)
    if refusal.status == 401:
        return RedirectResponse("/staff/", status_code=303)
    html = TEMPLATES.get_template("error.html").render(who=None, csrf="", message=refusal.message)
    return HTMLResponse(html, status_code=refusal.status)


def _products_for(console: ConsoleChannel, who: Caller) -> list[str]:
    """The products the caller's role may start (make or do)."""
    role = who.account.role
    policy = console.policy
    return [
        product
        for product, (action, _) in PRODUCTS.items()
        if policy.may(role, action, Mode.MAKE) or policy.may(role, action, Mode.DO)
    ]


def static_files() -> StaticFiles:
    """The vendored assets and the console's own stylesheet."""
    return StaticFiles(directory=STATIC)
