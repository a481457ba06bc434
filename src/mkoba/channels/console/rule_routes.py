"""``/staff/v1/rules`` and ``/staff/rules``: the risk rules in force, staff changes marked.

Who may make, check or see the policy's ``risk_rules`` action reads the rules R1-R12
as they stand now: the profile version's values with the changes staff approved laid
over them (each marked with its change), the changes approved (in force or still to
come) and those waiting for a checker. A change itself is a staff command
(``change_risk_rule``, ``rule_changes.py``): ``POST /staff/v1/commands``, or the
page's link to its form. Looking is recorded in the audit trail.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from mkoba.catalog.risk_schema import TYPOLOGIES
from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.channels.console.pages import render_page, signed_in_page
from mkoba.channels.console.rule_changes import ACTION, current, local
from mkoba.risk import overrides
from mkoba.staff import commands as book
from mkoba.staff.policy import Mode

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

# Changes listed at most (newest first), approved or waiting.
changes_max = 200


class ParameterOut(BaseModel):
    """One parameter of a rule as it stands, and the staff change that set it (0: none)."""

    name: str
    value: str
    change: int = 0
    since: str = ""


class RuleOut(BaseModel):
    """One rule as it stands now."""

    rule: str
    typology: str
    runs: str
    parameters: list[ParameterOut]


class ChangeOut(BaseModel):
    """A change staff approved: what, from when, by whom, why, and whether it is in force."""

    id: int
    rule: str
    parameter: str
    value: str
    effective_from: int
    effective: str
    in_force: bool
    command: int
    maker: str
    checker: str
    reason: str


class WaitingOut(BaseModel):
    """A change waiting for a checker."""

    command: int
    maker: str
    summary: str


class RulesOut(BaseModel):
    """The rules in force now, the changes approved, and those waiting."""

    version: str
    at: int
    rules: list[RuleOut]
    changes: list[ChangeOut]
    waiting: list[WaitingOut]


def sees(console: ConsoleChannel, who: Caller) -> bool:
    """Whether ``who``'s role has any part in rule changes (make, check or see them)."""
    role = who.account.role
    return any(console.policy.may(role, ACTION, mode) for mode in Mode)


async def standing(console: ConsoleChannel, who: Caller, where: str) -> RulesOut:
    """The rules as they stand now for ``who`` (``Refusal`` 403 without a part in them)."""
    if not sees(console, who):
        raise Refusal(403, "Your role may not see the risk rules.")
    found = await asyncio.to_thread(_standing, console)
    await record(console, who, where, "rules.view", detail={"version": found.version})
    return found


def _standing(console: ConsoleChannel) -> RulesOut:
    now = console.ports.clock()
    base = console.ports.profile()
    profile, changed = current(console.tables, base, now)
    rules: list[RuleOut] = []
    if profile.risk is not None:
        for rule, (typology, runs) in TYPOLOGIES.items():
            shown = []
            for name in overrides.parameters(rule):
                change = changed.get((rule, name))
                shown.append(
                    ParameterOut(
                        name=name,
                        value=overrides.shown(profile, rule, name),
                        change=change.id if change else 0,
                        since=local(profile, change.effective_from) if change else "",
                    )
                )
            rules.append(RuleOut(rule=rule, typology=typology, runs=runs, parameters=shown))
    approved = overrides.load(console.tables)[-changes_max:]
    changes = [
        ChangeOut(
            id=item.id,
            rule=item.rule,
            parameter=item.parameter,
            value=str(item.value),
            effective_from=item.effective_from,
            effective=local(profile, item.effective_from),
            in_force=item.effective_from <= now,
            command=item.command_id,
            maker=item.maker,
            checker=item.checker,
            reason=item.reason,
        )
        for item in reversed(approved)
    ]
    pending = book.listing(console.tables, book.OPEN, (ACTION,), changes_max)
    waiting = [WaitingOut(command=c.id, maker=c.maker, summary=c.summary) for c in pending]
    return RulesOut(version=profile.version, at=now, rules=rules, changes=changes, waiting=waiting)


def router(console: ConsoleChannel) -> APIRouter:
    """The rules' routes over ``console``: the API and the page."""
    api = APIRouter(tags=["rules"])

    @api.get("/staff/v1/rules", response_model=RulesOut)
    async def rules(http: Request) -> RulesOut:
        """The risk rules in force now, staff changes marked; the changes approved and
        waiting."""
        who = await caller(console, http)
        return await standing(console, who, origin(http))

    @api.get("/staff/rules", include_in_schema=False)
    async def rules_page(http: Request) -> Response:
        """The same, as a page, with the form to propose a change for those who make."""
        who = await signed_in_page(console, http)
        if not isinstance(who, Caller):
            return who
        found = await standing(console, who, origin(http))
        makes = console.policy.may(who.account.role, ACTION, Mode.MAKE)
        return render_page(console, "rules.html", who, standing=found, makes=makes)

    return api
