"""``/staff/v1/audit``: the audit trail, browsed and filtered, and its chain checked.

The auditor's role (and those the policy lets see the log) pages through the
entries newest first, filtered by who, what, on what, the outcome and a time range;
``/audit/verify`` walks the chain as ``mkoba audit verify`` does and names the first
broken entry; ``/audit/head`` is the head to export each day. Looking is itself
recorded.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.staff import audit
from mkoba.staff.policy import Mode

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

page_max = 500


def _text() -> str:
    """A filter's query parameter: plain text, as names and entities are."""
    found: str = Query("", max_length=200, pattern=r"^[A-Za-z0-9._:@+-]*$")
    return found


class EntryOut(BaseModel):
    """One audited event."""

    seq: int
    at: int
    actor: str
    role: str
    origin: str
    action: str
    entity: str
    outcome: str
    detail: str
    hash: str


class HeadOut(BaseModel):
    """The chain's last entry, to export each day."""

    seq: int
    hash: str


class Verified(BaseModel):
    """What walking the chain found."""

    checked: int
    broken_seq: int | None
    reason: str


def router(console: ConsoleChannel) -> APIRouter:
    """The audit trail's routes over ``console``."""
    api = APIRouter(prefix="/staff/v1/audit", tags=["audit"])

    async def allowed(http: Request, mode: Mode) -> Caller:
        who = await caller(console, http)
        if not console.policy.may(who.account.role, "audit_log", mode):
            raise Refusal(403, "Your role may not see the audit trail.")
        return who

    @api.get("", response_model=list[EntryOut])
    async def browse(
        http: Request,
        actor: str = _text(),
        action: str = _text(),
        entity: str = _text(),
        outcome: str = _text(),
        since: int = Query(0, ge=0),
        until: int = Query(0, ge=0),
        before: int = Query(0, ge=0),
        limit: int = Query(100, ge=1, le=page_max),
    ) -> list[EntryOut]:
        """Entries newest first (``before``: the ``seq`` to page back from)."""
        who = await allowed(http, Mode.VIEW)
        wanted = audit.Filter(actor, action, entity, outcome, since, until, before)
        found = await console.read(audit.entries, wanted, limit)
        await record(console, who, origin(http), "audit.browse", detail=wanted._asdict())
        return [
            EntryOut(
                seq=entry.seq,
                at=entry.at,
                actor=entry.actor,
                role=entry.role,
                origin=entry.origin,
                action=entry.action,
                entity=entry.entity,
                outcome=entry.outcome,
                detail=entry.detail,
                hash=entry.hash,
            )
            for entry in found
        ]

    @api.get("/head", response_model=HeadOut)
    async def head(http: Request) -> HeadOut:
        """The chain's head: its last entry's number and hash."""
        await allowed(http, Mode.VIEW)
        last = await console.read(audit.head)
        return HeadOut(seq=last.seq, hash=last.hash)

    @api.post("/verify", response_model=Verified)
    async def verify(http: Request) -> Verified:
        """Walk the whole chain and name the first entry it does not vouch for."""
        who = await caller(console, http, writes=True)
        if not console.policy.may(who.account.role, "audit_log", Mode.DO):
            raise Refusal(403, "Only the auditor checks the audit trail.")
        checked, broken = await asyncio.to_thread(audit.verify, console.tables, console.trail.key)
        await record(console, who, origin(http), "audit.verify", detail={"checked": checked})
        return Verified(
            checked=checked,
            broken_seq=broken.seq if broken else None,
            reason=broken.reason if broken else "",
        )

    return api
