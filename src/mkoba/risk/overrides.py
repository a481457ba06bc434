"""Rule overrides: one parameter of one rule changed by staff, in force from a moment.

The rules' values are the profile's ``risk`` section (``catalog/risk_schema.py``),
versioned with the profile. A change made in the console under maker-checker (a
member of staff proposes, another approves: ``channels/console/rule_changes.py``)
becomes an override row in this package's ``risk_rule_overrides`` table: the rule,
the parameter, the value as the profile file would write it (``3``, ``"80%"``,
``5_000`` for an amount in major units, ``false``, ``"hold"``), and the moment it takes
force. The value is validated as the profile's own is, field by field (``check``):
a wrong type, a value out of range, an unknown rule or parameter is refused.

From its moment on an override lays its value over the profile version in force,
whichever it is, until a later override of the same parameter replaces it: a new
profile version does not undo it (to go back, approve the profile's value).

``RuleBook`` holds the overrides in memory for TranProc: ``effective(profile, now)``
is the profile with the overrides in force at ``now`` laid over it (cached, so the
hot path costs a bisect). It reads the table at start and again every ``refresh_s``
in the background (``watch``), so an approved change takes force within a second
without a restart, and a restart keeps it (the table is the record).
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import json
import logging
from datetime import date, datetime
from fractions import Fraction
from typing import Annotated, Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

import yaml  # type: ignore[import-untyped]
from pydantic import BaseModel, TypeAdapter, ValidationError

from mkoba.catalog import Profile
from mkoba.catalog.risk_schema import TYPOLOGIES, RiskSchema
from mkoba.ledger import Write
from mkoba.money import Currency, format_amount

log = logging.getLogger("mkoba.risk")

MIGRATION = "risk-rule-overrides-0001"
SCHEMA = """
CREATE TABLE IF NOT EXISTS risk_rule_overrides (
    id BIGINT PRIMARY KEY,
    rule TEXT NOT NULL,
    parameter TEXT NOT NULL,
    value TEXT NOT NULL,
    effective_from BIGINT NOT NULL,
    command_id BIGINT NOT NULL,
    maker TEXT NOT NULL,
    checker TEXT NOT NULL,
    reason TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS risk_rule_overrides_command
    ON risk_rule_overrides (command_id);
"""
_COLUMNS = (
    "id",
    "rule",
    "parameter",
    "value",
    "effective_from",
    "command_id",
    "maker",
    "checker",
    "reason",
    "created",
)
# The rules' parameters that are amounts (minor units in memory, major units written).
AMOUNT_PARAMETERS = frozenset({"over", "new_payee_over"})
# TranProc reads the table again this often (s): an approved change takes force within it.
refresh_s = 1.0
# Overrides kept in memory at most (years of weekly changes): past it the oldest go.
overrides_max = 10_000
_CACHED_MAX = 64


class Invalid(ValueError):
    """A change that cannot be made: the message says which part and why."""


class Reader(Protocol):
    """Where the table is read (a store, or a channel's ``Tables``)."""

    def query(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query."""
        ...


class Override(NamedTuple):
    """One approved change of one rule's parameter.

    ``value`` is as the profile file writes it (amounts in major units, shares as
    ``"80%"``); ``effective_from`` is when it takes force (ns); the command that made
    it, its maker and checker, and the maker's reason name where it came from.
    """

    id: int
    rule: str
    parameter: str
    value: object
    effective_from: int
    command_id: int
    maker: str
    checker: str
    reason: str
    created: int


# -- checking a change ------------------------------------------------------------------


def parameters(rule: str) -> tuple[str, ...]:
    """The parameters of ``rule`` (``enabled``, ``action`` and its own)."""
    return tuple(_rule_class(rule).model_fields)


def check(profile: Profile, rule: str, parameter: str, text: str) -> object:
    """The value ``text`` gives ``rule``'s ``parameter`` (as the file writes it); ``Invalid``
    for an unknown rule or parameter, or a value the profile's ``risk`` would refuse."""
    rule = rule.strip().upper()
    if profile.risk is None:
        raise Invalid(f"{profile.version} runs no risk rules: there is nothing to change.")
    known = _rule_class(rule).model_fields
    if parameter not in known:
        raise Invalid(f"parameter: {rule} has {', '.join(known)}; not {parameter!r}")
    value = _read(text)
    typed(rule, parameter, value, profile.currency)
    return value


def typed(rule: str, parameter: str, value: object, currency: Currency) -> object:
    """The value in memory (minor units, fractions); ``Invalid`` as the file's check says."""
    field = _rule_class(rule).model_fields[parameter]
    kind: Any = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    try:
        return TypeAdapter(kind).validate_python(value, context={"currency": currency})
    except ValidationError as error:
        problem = error.errors()[0]["msg"].removeprefix("Value error, ")
        given = "" if str(value) in problem else f" (not {value!r})"
        raise Invalid(f"value: {rule}.{parameter}: {problem}{given}") from None


def moment(text: str, timezone: ZoneInfo) -> int | None:
    """When a change takes force, from ``2026-12-24`` or ``2026-12-24T08:00`` (the
    profile's local time unless an offset is given); None for empty (on approval)."""
    text = text.strip()
    if not text:
        return None
    try:
        when: date | datetime = (
            date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        )
    except ValueError:
        raise Invalid(
            "effective: a date (2026-12-24) or a date and time (2026-12-24T08:00)"
        ) from None
    if not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone)
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1_000


def shown(profile: Profile, rule: str, parameter: str) -> str:
    """A parameter's value in ``profile`` as staff read it (and the file writes it)."""
    assert profile.risk is not None
    value = getattr(getattr(profile.risk, rule), parameter)
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Fraction):
        percent = value * 100
        return f"{percent.numerator}%" if percent.denominator == 1 else f"{float(percent):g}%"
    if parameter in AMOUNT_PARAMETERS:
        return format_amount(int(value), profile.currency)
    return str(value)


def _rule_class(rule: str) -> type[BaseModel]:
    if rule not in TYPOLOGIES:
        raise Invalid(f"rule: one of {', '.join(TYPOLOGIES)}; not {rule!r}")
    annotation = RiskSchema.model_fields[rule].annotation
    assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation


def _read(text: str) -> object:
    """A typed value as the profile file would read it: ``3``, ``5_000``, ``on``, ``80%``."""
    text = text.strip()
    if not text:
        raise Invalid("value: give the new value")
    lowered = text.lower()
    if lowered in ("on", "true", "yes"):
        return True
    if lowered in ("off", "false", "no"):
        return False
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    # A decimal amount (12.50) is read as the file's quoted form; anything odd stays text.
    return value if isinstance(value, int | str) and not isinstance(value, bool) else text


# -- laying overrides over a profile ----------------------------------------------------


def apply(profile: Profile, overrides: tuple[Override, ...] | list[Override]) -> Profile:
    """``profile`` with ``overrides`` (oldest first: the last of a parameter wins) laid
    over its rules; one that its rules refuse is skipped (and logged)."""
    risk = profile.risk
    if risk is None or not overrides:
        return profile
    latest = {(found.rule, found.parameter): found for found in overrides}
    changed: dict[str, dict[str, object]] = {}
    for (rule, parameter), found in latest.items():
        try:
            value = typed(rule, parameter, found.value, profile.currency)
        except Invalid as invalid:
            log.warning("risk: override %d does not fit %s: %s", found.id, profile.version, invalid)
            continue
        changed.setdefault(rule, {})[parameter] = value
    rules = {
        rule: getattr(risk, rule).model_copy(update=values) for rule, values in changed.items()
    }
    made = dataclasses.replace(profile, risk=risk.model_copy(update=rules))
    assert made.version == profile.version
    return made


def in_force(overrides: list[Override], now: int) -> dict[tuple[str, str], Override]:
    """The override in force at ``now`` for each parameter that has one."""
    latest: dict[tuple[str, str], Override] = {}
    for found in sorted(overrides, key=_order):
        if found.effective_from <= now:
            latest[(found.rule, found.parameter)] = found
    return latest


def _order(found: Override) -> tuple[int, int]:
    return found.effective_from, found.id


# -- the table ---------------------------------------------------------------------------


def migrate(tables: Any) -> None:
    """Make the table (once, by name: whoever is first)."""
    tables.migrate_script(MIGRATION, SCHEMA)


def load(store: Reader) -> list[Override]:
    """Every override, oldest in force first."""
    rows = store.query(
        f"SELECT {', '.join(_COLUMNS)} FROM risk_rule_overrides"
        " ORDER BY effective_from DESC, id DESC LIMIT ?",
        (overrides_max,),
    )
    return sorted((_override(row) for row in rows), key=_order)


def next_id(store: Reader) -> int:
    """The next override's id (allocated under the console desk's lock)."""
    found = store.query("SELECT COALESCE(MAX(id), 0) FROM risk_rule_overrides")
    return int(found[0][0]) + 1


def row(found: Override) -> Write:
    """A new override's row."""
    assert found.rule in TYPOLOGIES and found.id > 0
    values = found._replace(value=json.dumps(found.value))
    return Write("risk_rule_overrides", _COLUMNS, tuple(values))


def _override(values: tuple[Any, ...]) -> Override:
    found = Override(*values)
    return found._replace(
        id=int(found.id),
        value=json.loads(str(found.value)),
        effective_from=int(found.effective_from),
        command_id=int(found.command_id),
        created=int(found.created),
    )


# -- in memory, for TranProc -------------------------------------------------------------


class RuleBook:
    """The approved overrides, laid over whichever profile version is in force."""

    def __init__(self, store: Reader | None = None) -> None:
        self._store = store
        self._overrides: tuple[Override, ...] = ()
        self._starts: list[int] = []
        # (profile id, overrides in force) -> (the profile, the profile with them).
        self._cache: dict[tuple[int, int], tuple[Profile, Profile]] = {}
        self._watching: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def overrides(self) -> tuple[Override, ...]:
        """Every override known, oldest in force first."""
        return self._overrides

    def replace(self, overrides: list[Override]) -> None:
        """Hold ``overrides`` from now on (the table's, as read)."""
        ordered = tuple(sorted(overrides, key=_order))
        if ordered == self._overrides:
            return
        self._overrides = ordered
        self._starts = [found.effective_from for found in ordered]
        self._cache = {}

    def effective(self, profile: Profile, now: int) -> Profile:
        """``profile`` with the overrides in force at ``now`` (ns) laid over its rules."""
        if self._watching is None:
            self.watch()
        count = bisect.bisect_right(self._starts, now)
        if count == 0 or profile.risk is None:
            return profile
        key = (id(profile), count)
        cached = self._cache.get(key)
        if cached is not None and cached[0] is profile:
            return cached[1]
        made = apply(profile, self._overrides[:count])
        if len(self._cache) >= _CACHED_MAX:
            self._cache = {}
        self._cache[key] = (profile, made)
        return made

    async def reload(self) -> int:
        """Read the table again; how many overrides it holds."""
        assert self._store is not None
        found = await asyncio.to_thread(load, self._store)
        self.replace(found)
        return len(found)

    def watch(self) -> None:
        """Read the table every ``refresh_s`` in the background, until ``drain`` (and again
        from the next profile read after one)."""
        if self._store is None or self._watching is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # read outside the event loop (a command line): no watching
            return
        self._stop = asyncio.Event()
        self._watching = loop.create_task(self._watch(self._stop))

    async def drain(self) -> None:
        """Stop reading the table (the store is about to close): the read on its way ends."""
        watching, self._watching = self._watching, None
        if watching is not None:
            self._stop.set()
            await asyncio.gather(watching, return_exceptions=True)

    async def _watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), refresh_s)
                return
            except TimeoutError:
                pass
            try:
                await self.reload()
            except Exception as error:  # the changes known stay in force; the next profile
                log.error("risk: the rule overrides could not be read: %r", error)
                break  # read starts watching again (a closed store is read no more)
        if self._watching is asyncio.current_task():
            self._watching = None
