"""The compliance alert queue over its own tables, on SQLite and on PostgreSQL.

Method: a real store of each kind and a real ledger writer commit the alerts through
``Tables.submit``, as in the platform; a clock the test moves stands for time. Each
test raises alerts as a rule would and works them as compliance would, and reads back
what a compliance officer would check: the state, who holds it, the STR clock, and
the history, one row per action.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from mkoba.bus.rows import LocalRows
from mkoba.ledger import LedgerWriter, Store, open_store
from mkoba.risk.alerts import STR_DUE_NS, Alerts, Invalid, NoSuchAlert, Refused
from mkoba.tables import Tables

pytestmark = pytest.mark.anyio
HOUR_NS = 3600 * 1_000_000_000
START = 1_796_000_000 * 1_000_000_000
DETAILS = {"receipts": ["UKN1", "UKN2", "UKN3"], "amounts": [90_000_00, 95_000_00, 99_000_00]}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    """Time as the test sets it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url, commit_process=False)
    opened.migrate()
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def alerts(store: Store, clock: Clock) -> Iterator[Alerts]:
    writer = LedgerWriter(store).start()
    rows = LocalRows(writer, lambda: None)
    book = Alerts(Tables(lambda: store, lambda: rows), clock)
    book.migrate()
    book.migrate()  # once by name: a second start changes nothing
    try:
        yield book
    finally:
        writer.stop()


async def r3(alerts: Alerts, **overrides: object) -> int:
    """A structuring alert (R3) with its STR clock, as the rule would raise it."""
    given: dict[str, object] = {
        "rule": "R3",
        "party_id": 42,
        "msisdn": "254712345678",
        "severity": "high",
        "summary": "3 cash-ins in 24 h, each under the CTR threshold, together 92% of it",
        "details": DETAILS,
        "str_clock": True,
    }
    return await alerts.raise_alert(**{**given, **overrides})  # type: ignore[arg-type]


async def test_a_raised_alert_is_open_with_its_details_and_str_clock(
    alerts: Alerts, clock: Clock
) -> None:
    alert_id = await r3(alerts)
    alert = await alerts.get(alert_id)
    assert alert is not None
    assert (alert.rule, alert.party_id, alert.msisdn) == ("R3", 42, "254712345678")
    assert (alert.state, alert.assignee, alert.severity) == ("open", "", "high")
    assert alert.details == DETAILS
    assert alert.str_due == START + STR_DUE_NS == alert.created + 2 * 24 * HOUR_NS
    assert alert.str_left_ns(START + HOUR_NS) == STR_DUE_NS - HOUR_NS
    assert not alert.overdue(START + STR_DUE_NS)
    assert alert.overdue(START + STR_DUE_NS + 1)
    quiet = await r3(alerts, rule="R1", severity="low", str_clock=False)
    found = await alerts.get(quiet)
    assert found is not None and found.str_due == 0 and found.str_left_ns(START) is None
    assert quiet == alert_id + 1
    assert await alerts.notes(alert_id) == []


async def test_the_same_hit_makes_one_alert(alerts: Alerts) -> None:
    first = await r3(alerts)
    assert await r3(alerts) == first  # the same rule, party and details
    assert await r3(alerts, details={**DETAILS, "receipts": ["UKN4"]}) != first
    keyed = await r3(alerts, key="R3:42:2026-12-06")
    assert await r3(alerts, key="R3:42:2026-12-06", summary="said differently") == keyed
    assert len(await alerts.list()) == 3
    # Raised at once (a rule on several workers): still one alert per hit, ids apart.
    same = await asyncio.gather(*(r3(alerts, key="R3:7:burst") for _ in range(5)))
    assert len(set(same)) == 1
    apart = await asyncio.gather(*(r3(alerts, details={"n": n}) for n in range(5)))
    assert len(set(apart)) == 5 and same[0] not in apart
    assert len(await alerts.list()) == 9


async def test_compliance_works_an_alert_to_a_filed_str(alerts: Alerts, clock: Clock) -> None:
    alert_id = await r3(alerts)
    clock.now += HOUR_NS
    assigned = await alerts.assign(alert_id, "amina", "amina")
    assert (assigned.state, assigned.assignee, assigned.updated) == ("assigned", "amina", clock())
    await alerts.note(alert_id, "amina", "Called the agent: the customer split one deposit.")
    escalated = await alerts.escalate(alert_id, "amina", "Looks like structuring: to the MLRO")
    assert escalated.state == "escalated" and escalated.str_due == START + STR_DUE_NS
    handed = await alerts.assign(alert_id, "amina", "mlro")
    assert (handed.state, handed.assignee) == ("escalated", "mlro")  # still escalated
    reported = await alerts.report(alert_id, "mlro", "goAML STR 2026/118")
    assert reported.state == "reported"
    stored = await alerts.get(alert_id)
    assert stored == reported
    history = [(n.seq, n.staff, n.action, n.text) for n in await alerts.notes(alert_id)]
    assert history == [
        (1, "amina", "assign", "to amina"),
        (2, "amina", "note", "Called the agent: the customer split one deposit."),
        (3, "amina", "escalate", "Looks like structuring: to the MLRO"),
        (4, "amina", "assign", "to mlro"),
        (5, "mlro", "report", "goAML STR 2026/118"),
    ]
    assert reported.str_left_ns(clock()) is None  # filed: no clock runs on it
    for act in (
        alerts.note(alert_id, "mlro", "more"),
        alerts.dismiss(alert_id, "mlro", "no"),
        alerts.assign(alert_id, "mlro", "amina"),
        alerts.reopen(alert_id, "mlro", "why not"),
    ):
        with pytest.raises(Refused, match="reported"):
            await act
    assert len(await alerts.notes(alert_id)) == 5


async def test_escalating_starts_the_str_clock_when_none_runs(alerts: Alerts, clock: Clock) -> None:
    alert_id = await r3(alerts, rule="R1", str_clock=False)
    clock.now += 5 * HOUR_NS
    escalated = await alerts.escalate(alert_id, "amina", "suspicious pattern")
    assert escalated.str_due == clock() + STR_DUE_NS
    with pytest.raises(Refused, match="escalated already"):
        await alerts.escalate(alert_id, "amina", "again")


async def test_a_dismissed_alert_takes_nothing_but_a_reopen(alerts: Alerts) -> None:
    alert_id = await r3(alerts)
    with pytest.raises(Invalid, match="reason"):
        await alerts.dismiss(alert_id, "amina", "   ")
    dismissed = await alerts.dismiss(alert_id, "amina", "School fees paid in three parts")
    assert dismissed.state == "dismissed" and dismissed.str_left_ns(START) is None
    for act in (
        alerts.note(alert_id, "amina", "late note"),
        alerts.assign(alert_id, "amina", "amina"),
        alerts.escalate(alert_id, "amina", "changed my mind"),
        alerts.report(alert_id, "amina"),
        alerts.dismiss(alert_id, "amina", "twice"),
    ):
        with pytest.raises(Refused, match="dismissed: reopen it first"):
            await act
    with pytest.raises(Invalid, match="reason"):
        await alerts.reopen(alert_id, "amina", "")
    reopened = await alerts.reopen(alert_id, "brian", "The same customer came back")
    assert (reopened.state, reopened.assignee) == ("open", "")
    with pytest.raises(Refused, match="only a dismissed alert reopens"):
        await alerts.reopen(alert_id, "brian", "again")
    actions = [n.action for n in await alerts.notes(alert_id)]
    assert actions == ["dismiss", "reopen"]


async def test_refusals_name_what_is_wrong(alerts: Alerts) -> None:
    alert_id = await r3(alerts)
    with pytest.raises(NoSuchAlert):
        await alerts.note(alert_id + 100, "amina", "hello")
    assert await alerts.get(alert_id + 100) is None
    with pytest.raises(Invalid, match="text: at most 1000"):
        await alerts.note(alert_id, "amina", "x" * 1001)
    with pytest.raises(Invalid, match="control character"):
        await alerts.note(alert_id, "amina", "bad\x00byte")
    with pytest.raises(Invalid, match="surrogate"):
        await alerts.note(alert_id, "amina", "half \ud800 a character")
    with pytest.raises(Invalid, match="staff"):
        await alerts.note(alert_id, "", "who am I")
    with pytest.raises(Invalid, match="to:"):
        await alerts.assign(alert_id, "amina", "not a user!")
    await alerts.assign(alert_id, "amina", "amina")
    with pytest.raises(Refused, match="with amina already"):
        await alerts.assign(alert_id, "amina", "amina")
    assert [n.action for n in await alerts.notes(alert_id)] == ["assign"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("severity", "urgent", "severity"),
        ("rule", "", "rule"),
        ("rule", "R3; DROP", "rule"),
        ("summary", "", "summary"),
        ("summary", "s" * 301, "summary"),
        ("summary", "tab\tok but bell \x07 not", "control character"),
        ("details", {"amount": 12.5}, "never fractions"),
        ("details", {"receipts": ["ok", "\x1b[31m"]}, "control character"),
        ("details", {"blob": "x" * 9000}, "at most"),
        ("party_id", -1, "party_id"),
    ],
)
async def test_an_alert_that_cannot_be_stored_is_refused(
    alerts: Alerts, field: str, value: object, message: str
) -> None:
    with pytest.raises(Invalid, match=message):
        await r3(alerts, **{field: value})
    assert await alerts.list() == []


async def test_the_queue_filters_and_puts_the_str_clock_first(alerts: Alerts, clock: Clock) -> None:
    quiet = await r3(alerts, rule="R1", str_clock=False, details={"n": 1})
    clock.now += HOUR_NS
    later = await r3(alerts, details={"n": 2})
    clock.now -= 2 * HOUR_NS  # raised earlier (a stream rule catching up): due first
    sooner = await r3(alerts, details={"n": 3})
    clock.now = START + STR_DUE_NS + 1
    held = await r3(alerts, rule="R9", str_clock=False, details={"n": 4})
    await alerts.assign(held, "amina", "amina")
    assert [a.id for a in await alerts.list()] == [sooner, later, held, quiet]
    assert [a.id for a in await alerts.list(state="open")] == [sooner, later, quiet]
    assert [a.id for a in await alerts.list(state="assigned")] == [held]
    assert [a.id for a in await alerts.list(assignee="amina")] == [held]
    assert [a.id for a in await alerts.list(rule="R3")] == [sooner, later]
    # Now past 2 days from the first: the one raised earliest is overdue, the other not.
    assert [a.id for a in await alerts.list(overdue=True)] == [sooner]
    await alerts.report(sooner, "amina")
    assert await alerts.list(overdue=True) == []
    assert [a.id for a in await alerts.list(state="live")] == [later, held, quiet]
    assert [a.id for a in await alerts.list(limit=2, offset=1)] == [later, held]
    with pytest.raises(Invalid):
        await alerts.list(state="closed")
    with pytest.raises(Invalid):
        await alerts.list(limit=0)
