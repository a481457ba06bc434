"""``/staff/v1/callbacks``: the callbacks sent to businesses, their delivery, and a replay.

What ``mkoba daraja callbacks`` shows on the command line, in the console: each callback
with its business shortcode, the receiver's host (never the path or query: they may hold
a client's secret), its state, attempts, the last attempt's HTTP status and error, and
when. The log comes from the Daraja channel through a narrow port (``ports.CallbackLog``,
wired by ``app.py``): the console imports no other channel.

Roles with a part in ``callbacks`` see it; sending one again is a ``do`` (operations):
only the message is sent again, the money does not move. Every look and every replay
is audited. A body is shown masked unless the role may see personal data
(``callback_bodies.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from mkoba.channels.console import callback_bodies
from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.channels.console.pages import render_page, signed_in_page
from mkoba.ports import CallbackDelivery, CallbackFilter, CallbackLog
from mkoba.staff.policy import Mode

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

# Callbacks per page, and how far back one may page.
page_size = 50
offset_max = 10_000
STATES = ("queued", "retry", "delivered", "failed")
# A callback waiting to be sent is not sent again: it is about to go.
WAITING = ("queued", "retry")


class CallbackOut(BaseModel):
    """A callback as staff see it (no secret; the body only when one is read)."""

    id: int
    shortcode: str
    app_id: int
    kind: str
    host: str
    state: str
    attempts: int
    status: int
    error: str
    last_attempt: int
    created: int
    body: str | None = None
    body_masked: bool | None = None


class Replayed(BaseModel):
    """A callback queued to be sent again."""

    id: int
    state: str


def may_see_callbacks(console: ConsoleChannel, who: Caller) -> CallbackLog:
    """The log, or ``Refusal``: the role has no part in it, or this server sends none."""
    if not console.policy.sees(who.account.role, "callbacks"):
        raise Refusal(403, "Your role has no part in the callback log.")
    if console.callbacks is None:
        raise Refusal(404, "This server sends no callbacks.")
    return console.callbacks


def unmasked_for(console: ConsoleChannel, who: Caller) -> bool:
    """Whether ``who`` reads callback bodies unmasked (they may see personal data)."""
    return console.policy.may(who.account.role, "customer_unmasked", Mode.VIEW)


def as_out(found: CallbackDelivery, unmasked: bool | None = None) -> CallbackOut:
    """The callback for staff: with its body (masked unless ``unmasked``) when given."""
    values = found._asdict()
    body = values.pop("body")
    out = CallbackOut(**values)
    if unmasked is not None:
        out.body = callback_bodies.shown(body, unmasked) if body else ""
        out.body_masked = not unmasked
    return out


async def listing(
    console: ConsoleChannel, who: Caller, where: str, wanted: CallbackFilter, page: int
) -> list[CallbackOut]:
    """A page of callbacks, audited."""
    log = may_see_callbacks(console, who)
    offset = page * page_size
    if offset > offset_max:
        raise Refusal(422, f"page: at most {offset_max // page_size}.")
    found = await log.find(wanted, page_size, offset)
    detail: dict[str, object] = {**wanted._asdict(), "page": page, "rows": len(found)}
    await record(console, who, where, "callbacks.list", detail=detail)
    return [as_out(row) for row in found]


async def one(console: ConsoleChannel, who: Caller, where: str, callback_id: int) -> CallbackOut:
    """One callback with its body as ``who`` may read it, audited."""
    log = may_see_callbacks(console, who)
    found = await log.get(callback_id)
    if found is None:
        raise Refusal(404, f"There is no callback {callback_id}.")
    unmasked = unmasked_for(console, who)
    entity = f"callback:{callback_id}"
    detail: dict[str, object] = {"unmasked": unmasked}
    await record(console, who, where, "callbacks.view", entity=entity, detail=detail)
    return as_out(found, unmasked)


async def replay(console: ConsoleChannel, who: Caller, where: str, callback_id: int) -> Replayed:
    """Queue one callback again (operations), audited whatever the outcome."""
    log = may_see_callbacks(console, who)
    entity = f"callback:{callback_id}"
    if not console.policy.may(who.account.role, "callbacks", Mode.DO):
        await record(console, who, where, "callbacks.replay", "refused", entity=entity)
        raise Refusal(403, "Your role may not send callbacks again.")
    found = await log.get(callback_id)
    if found is None:
        raise Refusal(404, f"There is no callback {callback_id}.")
    if found.state in WAITING:
        raise Refusal(409, f"Callback {callback_id} is waiting to be sent ({found.state}).")
    if not found.body:
        raise Refusal(409, f"Callback {callback_id} held a secret: it cannot be sent again.")
    queued = await log.replay(callback_id)
    if not queued:
        raise Refusal(404, f"There is no callback {callback_id}.")
    detail: dict[str, object] = {"was": found.state, "attempts": found.attempts}
    await record(console, who, where, "callbacks.replay", entity=entity, detail=detail)
    return Replayed(id=callback_id, state="queued")


def _filter(state: str, shortcode: str, kind: str) -> CallbackFilter:
    return CallbackFilter(state=state, shortcode=shortcode, kind=kind)


STATE_PATTERN = r"^(queued|retry|delivered|failed)?$"
SHORTCODE_PATTERN = r"^[0-9]{0,12}$"
KIND_PATTERN = r"^[A-Za-z0-9._:-]{0,64}$"


def router(console: ConsoleChannel) -> APIRouter:
    """The callback log's JSON routes and its pages."""
    api = APIRouter(tags=["callbacks"])

    @api.get("/staff/v1/callbacks", response_model=list[CallbackOut], responses={403: {}, 404: {}})
    async def callbacks(
        http: Request,
        state: str = Query("", pattern=STATE_PATTERN),
        shortcode: str = Query("", pattern=SHORTCODE_PATTERN),
        kind: str = Query("", pattern=KIND_PATTERN),
        page: int = Query(0, ge=0),
    ) -> list[CallbackOut]:
        """The newest callbacks to businesses, filtered, with their last attempt."""
        who = await caller(console, http)
        return await listing(console, who, origin(http), _filter(state, shortcode, kind), page)

    @api.get("/staff/v1/callbacks/{callback_id}", response_model=CallbackOut)
    async def callback(callback_id: int, http: Request) -> CallbackOut:
        """One callback and its body (masked unless the role may see personal data)."""
        who = await caller(console, http)
        return await one(console, who, origin(http), callback_id)

    @api.post(
        "/staff/v1/callbacks/{callback_id}/replay",
        response_model=Replayed,
        status_code=202,
        responses={403: {}, 404: {}, 409: {}},
    )
    async def replay_route(callback_id: int, http: Request) -> Replayed:
        """Send a callback again: it is queued, and the sender delivers it at once."""
        who = await caller(console, http, writes=True)
        return await replay(console, who, origin(http), callback_id)

    @api.get("/staff/callbacks", include_in_schema=False)
    async def callbacks_page(
        http: Request,
        state: str = Query("", pattern=STATE_PATTERN),
        shortcode: str = Query("", pattern=SHORTCODE_PATTERN),
        kind: str = Query("", pattern=KIND_PATTERN),
        page: int = Query(0, ge=0),
    ) -> Response:
        """The callback log, filtered."""
        who = await signed_in_page(console, http)
        if not isinstance(who, Caller):
            return who
        wanted = _filter(state, shortcode, kind)
        rows = await listing(console, who, origin(http), wanted, page)
        replays = console.policy.may(who.account.role, "callbacks", Mode.DO)
        return render_page(
            console,
            "callbacks.html",
            who,
            rows=rows,
            wanted=wanted,
            page=page,
            more=len(rows) == page_size,
            states=STATES,
            replays=replays,
            waiting=WAITING,
        )

    @api.get("/staff/callbacks/{callback_id}", include_in_schema=False)
    async def callback_page(callback_id: int, http: Request) -> Response:
        """One callback and its body."""
        who = await signed_in_page(console, http)
        if not isinstance(who, Caller):
            return who
        found = await one(console, who, origin(http), callback_id)
        replays = console.policy.may(who.account.role, "callbacks", Mode.DO)
        return render_page(
            console, "callback.html", who, callback=found, replays=replays, waiting=WAITING
        )

    @api.post("/staff/ui/callbacks/{callback_id}/replay", include_in_schema=False)
    async def replay_page(callback_id: int, http: Request) -> Response:
        """The replay button."""
        who = await caller(console, http, writes=True)
        await replay(console, who, origin(http), callback_id)
        return Response(status_code=204, headers={"HX-Redirect": f"/staff/callbacks/{callback_id}"})

    return api
