"""``/staff/v1/closes``: finance signs a local day off, and the close is kept as it was.

Finance (the ``reconciliation`` action's ``do``) closes a day after a fresh TOTP code,
giving the trust bank account's balance and a note on the breaks. The console then
makes the day's finance pack (``finance.py``) with that balance and stores it whole,
with who and when, in ``staff_closes`` (``staff/closes.py``: append-only, chained
under the audit key). The rules:
- a day is closed only once it has ended (the profile's local day, by the platform's
  clock), and only once;
- in order: after the first close, only the day after the last closed one, so no day
  is skipped (the first close may be any ended day: the operator starts closing when
  it starts using mkoba);
- every close, and every refusal of a code, is in the audit trail with the close's
  hashes.
Finance, operations and the auditor list and read closes; any of them may have the
console check a stored close against its digests and the close before it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import escape
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mkoba.channels.console import finance
from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.channels.console.pages import read_form, render_page, signed_in_page
from mkoba.staff import accounts, audit, closes
from mkoba.staff.policy import Mode
from mkoba.staff.signin import step_up
from mkoba.statements.render import days_ns
from mkoba.text import text_problem

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

# Closes listed per page.
page_max = 100


class CloseIn(BaseModel):
    """A day's sign-off."""

    model_config = ConfigDict(extra="forbid")

    day: dt.date
    bank: int = Field(ge=0, le=10**15, description="the trust bank account's balance (minor)")
    note: str = Field("", max_length=closes.note_chars_max)
    code: str = Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")

    @field_validator("note")
    @classmethod
    def _storable(cls, value: str) -> str:
        problem = text_problem(value)
        if problem is not None:
            raise ValueError(f"note {problem}")
        return value.strip()


class CloseOut(BaseModel):
    """A stored close (with its pack when one close is read)."""

    seq: int
    day: str
    closed_at: int
    staff: str
    role: str
    bank_balance: int
    note: str
    pack_sha256: str
    prev_hash: str
    hash: str
    pack: dict[str, Any] | None = None


class Checked(BaseModel):
    """What checking a stored close found."""

    day: str
    ok: bool
    reason: str


def may_see_closes(console: ConsoleChannel, who: Caller) -> None:
    """``Refusal`` unless ``who``'s role has a part in reconciliation."""
    if not console.policy.sees(who.account.role, "reconciliation"):
        raise Refusal(403, "Your role has no part in the daily close.")


def as_out(found: closes.Close, with_pack: bool = False) -> CloseOut:
    """A close for staff."""
    values = found._asdict()
    for name in ("pack", "staff_id"):
        values.pop(name)
    out = CloseOut(**values)
    if with_pack:
        out.pack = json.loads(found.pack)
    return out


def _today(console: ConsoleChannel) -> dt.date:
    zone = console.ports.profile().timezone
    return dt.datetime.fromtimestamp(console.ports.clock() / 1e9, zone).date()


def _closable(console: ConsoleChannel, day: dt.date, last: closes.Close | None) -> None:
    """``Refusal`` unless ``day`` has ended and is the next day to close."""
    _, end = days_ns(console.ports.profile().timezone, day, day)
    if end > console.ports.clock():
        raise Refusal(409, f"{day.isoformat()} has not ended: close a day once it is over.")
    if last is None:
        return
    closed = dt.date.fromisoformat(last.day)
    if day <= closed:
        taken = "is closed" if day == closed else f"is before the last close ({last.day})"
        raise Refusal(409, f"{day.isoformat()} {taken}: a day is closed once, in order.")
    following = closed + dt.timedelta(days=1)
    if day != following:
        raise Refusal(409, f"Close {following.isoformat()} first: days are closed in order.")


async def _fresh_code(
    console: ConsoleChannel, who: Caller, code: str, where: str, day: str
) -> None:
    """``Refusal`` unless ``code`` is a fresh code of ``who``'s (wrong ones count to a lock)."""
    account = who.account
    accepted, state = await asyncio.to_thread(step_up, account.state, code, console.now())
    if state != account.state:
        await console.tables.submit([accounts.state_write(account.id, state, time.time_ns())])
    if accepted:
        return
    entity = f"close:{day}"
    await record(console, who, where, "reconciliation.close", "wrong_code", entity=entity)
    if state.locked_until > console.now():
        console.sessions.close_all(account.id)
        raise Refusal(423, "Too many wrong codes: this account is locked for a while.")
    raise Refusal(401, "Wrong code: give your authenticator's current code.")


async def close_day(
    console: ConsoleChannel, who: Caller, body: CloseIn, where: str
) -> closes.Close:
    """Sign ``body.day`` off: the pack as it stands, stored and chained; audited."""
    if not console.policy.may(who.account.role, "reconciliation", Mode.DO):
        raise Refusal(403, "Only finance signs a day off.")
    day = body.day.isoformat()
    # One close at a time (``console.closing``): the order check and the insert must not
    # interleave.
    async with console.closing:
        last = await console.read(closes.last)
        _closable(console, body.day, last)
        await _fresh_code(console, who, body.code, where, day)
        pack = await finance.make_pack(console, body.day, body.bank)
        account = who.account
        made = closes.Close(
            0,
            day,
            console.ports.clock(),
            account.id,
            account.username,
            account.role,
            body.bank,
            body.note,
            pack.model_dump_json(),
            "",
            "",
            "",
        )
        stored = closes.sealed(console.trail.key, last, made)
        await console.tables.submit([closes.close_write(stored)])
    detail: dict[str, object] = {
        "seq": stored.seq,
        "bank": body.bank,
        "balanced": pack.balanced,
        "bank_difference": pack.trust.bank_difference,
        "pack_sha256": stored.pack_sha256,
        "hash": stored.hash,
    }
    await record(console, who, where, "reconciliation.close", entity=f"close:{day}", detail=detail)
    return stored


async def check_close(console: ConsoleChannel, who: Caller, day: dt.date, where: str) -> Checked:
    """Check a stored close against its digests and the close before it; audited."""
    may_see_closes(console, who)
    found = await console.read(closes.get, day.isoformat())
    if found is None:
        raise Refusal(404, f"{day.isoformat()} is not closed.")
    previous = await console.read(closes.by_seq, found.seq - 1) if found.seq > 1 else None
    reason = closes.check(console.trail.key, found, previous)
    if reason is None:
        reason = await _against_the_trail(console, found)
    outcome = "ok" if reason is None else "broken"
    entity = f"close:{found.day}"
    await record(console, who, where, "reconciliation.verify", outcome, entity=entity)
    return Checked(day=found.day, ok=reason is None, reason=reason or "")


async def _against_the_trail(console: ConsoleChannel, found: closes.Close) -> str | None:
    """Why the audit trail's record of the close disagrees with it, or None.

    The trail recorded both hashes when the day was closed: a close rewritten with the
    key (digests made again) still differs from what the chained trail holds.
    """
    wanted = audit.Filter(action="reconciliation.close", entity=f"close:{found.day}", outcome="ok")
    recorded = await console.read(audit.entries, wanted, 1)
    if not recorded:
        return "the audit trail has no record of it"
    detail = json.loads(recorded[0].detail)
    if (detail.get("hash"), detail.get("pack_sha256")) != (found.hash, found.pack_sha256):
        return "it is not the close the audit trail recorded"
    return None


async def one(console: ConsoleChannel, who: Caller, day: dt.date, where: str) -> closes.Close:
    """One stored close with its pack; audited."""
    may_see_closes(console, who)
    found = await console.read(closes.get, day.isoformat())
    if found is None:
        raise Refusal(404, f"{day.isoformat()} is not closed.")
    await record(console, who, where, "reconciliation.view", entity=f"close:{found.day}")
    return found


async def listing(
    console: ConsoleChannel, who: Caller, before: int, where: str
) -> list[closes.Close]:
    """The newest closes; audited."""
    may_see_closes(console, who)
    found = await console.read(closes.listing, before, page_max)
    detail: dict[str, object] = {"before": before, "rows": len(found)}
    await record(console, who, where, "reconciliation.list", detail=detail)
    return found


def router(console: ConsoleChannel) -> APIRouter:
    """The close's JSON routes and its pages."""
    api = APIRouter(tags=["closes"])

    @api.post(
        "/staff/v1/closes",
        response_model=CloseOut,
        status_code=201,
        responses={401: {}, 403: {}, 409: {}, 423: {}},
    )
    async def close_route(body: CloseIn, http: Request) -> CloseOut:
        """Sign a day off (finance, after a fresh code): the pack is stored as it is now."""
        who = await caller(console, http, writes=True)
        return as_out(await close_day(console, who, body, origin(http)))

    @api.get("/staff/v1/closes", response_model=list[CloseOut], responses={403: {}})
    async def closes_route(http: Request, before: int = Query(0, ge=0)) -> list[CloseOut]:
        """The newest closes (without their packs); ``before``: a ``seq`` to page back from."""
        who = await caller(console, http)
        return [as_out(found) for found in await listing(console, who, before, origin(http))]

    @api.get("/staff/v1/closes/{day}", response_model=CloseOut, responses={403: {}, 404: {}})
    async def close_one(day: dt.date, http: Request) -> CloseOut:
        """One close with the pack as it was signed off."""
        who = await caller(console, http)
        return as_out(await one(console, who, day, origin(http)), with_pack=True)

    @api.post("/staff/v1/closes/{day}/verify", response_model=Checked)
    async def verify_route(day: dt.date, http: Request) -> Checked:
        """Check a stored close: its pack's digest, its chained hash, the close before it."""
        who = await caller(console, http, writes=True)
        return await check_close(console, who, day, origin(http))

    @api.get("/staff/closes", include_in_schema=False)
    async def closes_page(http: Request, before: int = Query(0, ge=0)) -> Response:
        """The closes, and finance's form to close the next day."""
        who = await signed_in_page(console, http)
        if not isinstance(who, Caller):
            return who
        found = await listing(console, who, before, origin(http))
        signs = console.policy.may(who.account.role, "reconciliation", Mode.DO)
        last = found[0] if found and not before else None
        following = (
            dt.date.fromisoformat(last.day) + dt.timedelta(days=1)
            if last is not None
            else _today(console) - dt.timedelta(days=1)
        )
        return render_page(
            console, "closes.html", who, closes=found, signs=signs, following=following
        )

    @api.get("/staff/closes/{day}", include_in_schema=False)
    async def close_page(day: dt.date, http: Request) -> Response:
        """One close: the pack as it was signed off, its hashes, and the check."""
        who = await signed_in_page(console, http)
        if not isinstance(who, Caller):
            return who
        found = await one(console, who, day, origin(http))
        pack = finance.Pack.model_validate_json(found.pack)
        return render_page(console, "close.html", who, close=as_out(found), pack=pack)

    @api.post("/staff/ui/closes", include_in_schema=False)
    async def close_form(http: Request) -> Response:
        """Finance's sign-off form."""
        who = await caller(console, http, writes=True)
        fields = await read_form(http)
        wanted = {name: fields.get(name, "") for name in ("day", "bank", "note", "code")}
        try:
            body = CloseIn.model_validate(wanted)
        except ValueError:
            raise Refusal(
                422, "Give the day, the bank balance (minor units) and your 6-digit code."
            ) from None
        stored = await close_day(console, who, body, origin(http))
        return Response(status_code=204, headers={"HX-Redirect": f"/staff/closes/{stored.day}"})

    @api.post("/staff/ui/closes/{day}/verify", include_in_schema=False)
    async def verify_form(day: dt.date, http: Request) -> Response:
        """The check button: what it found, as text for the page."""
        who = await caller(console, http, writes=True)
        checked = await check_close(console, who, day, origin(http))
        text = (
            f"The close of {checked.day} is as signed off."
            if checked.ok
            else f"The close of {checked.day} is broken: {checked.reason}."
        )
        return HTMLResponse(escape(text))

    return api
