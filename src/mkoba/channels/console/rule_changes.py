"""Risk rule changes as staff commands: one member of staff proposes, another approves.

The policy's ``risk_rules`` action (operations make, compliance check, the auditor
sees them). A change names one parameter of one rule (``R1`` ``per_hour``, ``R6``
``new_payee_over``, ``R9`` ``enabled``), its new value as the profile file writes it,
when it takes force (``effective``: empty for on approval) and why. It goes through
the same desk as every staff write (make, a checker's fresh TOTP, approve or reject,
cancel, audit), and, like a staff account, TranProc has no part in it: on approval
the desk commits the risk package's override row (``risk/overrides.py``) with the
command's end, and TranProc's rules read it within ``overrides.refresh_s``.

The value is checked as the profile's ``risk`` section is when the change is made
(an unknown rule or parameter, a wrong type, a value out of range: refused with the
reason), and again when it is approved.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Self

from mkoba.catalog import Profile
from mkoba.catalog.risk_schema import TYPOLOGIES
from mkoba.channels.console.actions import Preview, Previewer, Reads, Unfit
from mkoba.channels.console.staff_users import Effect
from mkoba.codes import Code
from mkoba.commands import Command, Text
from mkoba.commands.fields import invalid
from mkoba.risk import overrides
from mkoba.staff.accounts import Reader
from mkoba.staff.commands import Line, StaffCommand

ACTION = "risk_rules"
# A change may name a moment this far back (a slow form): it takes force on approval.
past_s_max = 300


@dataclass(frozen=True, slots=True)
class RuleChange(Command):
    """One parameter of one risk rule: its new value, from when, and why."""

    products: ClassVar[tuple[str, ...]] = ("change_risk_rule",)
    rule: Text
    parameter: Text
    value: Text
    reason: Text
    effective: Text = ""

    def refined(self, profile: Profile) -> Self:
        """The rule in capitals, the value and the moment checked as the profile's are."""
        rule = self.rule.upper()
        try:
            overrides.check(profile, rule, self.parameter, self.value)
            overrides.moment(self.effective, profile.timezone)
        except overrides.Invalid as problem:
            raise invalid(str(problem)) from None
        return dataclasses.replace(self, rule=rule)


COMMANDS: Mapping[str, type[Command]] = {"change_risk_rule": RuleChange}


def local(profile: Profile, at: int) -> str:
    """A moment (ns) in the profile's local time, to the minute."""
    when = datetime.fromtimestamp(at / 1e9, UTC).astimezone(profile.timezone)
    return when.strftime("%Y-%m-%d %H:%M %Z")


def current(
    store: Reader, profile: Profile, now: int
) -> tuple[Profile, dict[tuple[str, str], overrides.Override]]:
    """The profile's rules as they stand at ``now`` (the table's overrides in force laid
    over it), and those overrides by rule and parameter."""
    found = overrides.in_force(overrides.load(store), now)
    ordered = sorted(found.values(), key=lambda item: (item.effective_from, item.id))
    return overrides.apply(profile, ordered), found


async def _preview(_product: str, command: Command, reads: Reads) -> Preview:
    assert isinstance(command, RuleChange)
    return await asyncio.to_thread(_previewed, command, reads)


def _previewed(command: RuleChange, reads: Reads) -> Preview:
    now = reads.ports.clock()
    base = reads.ports.profile()
    profile, changed = current(reads.tables, base, now)
    rule, parameter = command.rule, command.parameter
    try:
        value = overrides.check(profile, rule, parameter, command.value)
        at = overrides.moment(command.effective, profile.timezone)
    except overrides.Invalid as problem:
        raise Unfit(str(problem)) from None
    if at is not None and at < now - past_s_max * 1_000_000_000:
        raise Unfit("effective: a moment from now on (empty: on approval)")
    before = overrides.shown(profile, rule, parameter)
    probe = overrides.Override(0, rule, parameter, value, now, 0, "", "", "", now)
    after = overrides.shown(overrides.apply(profile, [probe]), rule, parameter)
    if before == after:
        raise Unfit(f"{rule} {parameter} is {before} already.")
    when = "on approval" if at is None or at <= now else local(profile, at)
    typology, stage = TYPOLOGIES[rule]
    staff_change = changed.get((rule, parameter))
    source = (
        f"staff change {staff_change.id} since {local(profile, staff_change.effective_from)}"
        if staff_change is not None
        else profile.version
    )
    summary = (
        f"Change {rule} ({typology}) {parameter} from {before} to {after},"
        f" in force {when}: {command.reason}"
    )
    view = (
        Line("Rule", f"{rule}: {typology} ({stage})", f"{rule}: {typology} ({stage})"),
        Line(parameter, f"{before} ({source})", after),
        Line("In force", "", when),
        Line("Reason", "", command.reason),
    )
    return Preview(f"risk_rule:{rule}:{parameter}", 0, summary, view)


def apply(
    store: Reader, profile: Profile, command: StaffCommand, typed: Command, now: int
) -> Effect:
    """The approved change's override row (checked again against the rules as they stand)."""
    assert isinstance(typed, RuleChange)
    try:
        value = overrides.check(profile, typed.rule, typed.parameter, typed.value)
        at = overrides.moment(typed.effective, profile.timezone)
    except overrides.Invalid as problem:
        return Effect(Code.INVALID_INPUT, str(problem))
    start = now if at is None else max(at, now)
    made = overrides.Override(
        id=overrides.next_id(store),
        rule=typed.rule,
        parameter=typed.parameter,
        value=value,
        effective_from=start,
        command_id=command.id,
        maker=command.maker,
        checker=command.checker,
        reason=typed.reason,
        created=now,
    )
    message = f"{typed.rule} {typed.parameter} is {typed.value} from {local(profile, start)}."
    return Effect(Code.OK, message, (overrides.row(made),))


# product -> (its policy action, its preview), as ``actions.ACTIONS``.
ACTIONS: Mapping[str, tuple[str, Previewer]] = dict.fromkeys(COMMANDS, (ACTION, _preview))
