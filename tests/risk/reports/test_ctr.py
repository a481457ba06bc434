"""The weekly cash-transaction report, from deposits and withdrawals made through TranProc.

Method: on each store, with the platform's clock set to chosen moments of a week two
weeks back (Monday to Sunday in Africa/Nairobi), agents take cash in and pay cash out
around a threshold and around the week's edges; then the report is read as XML and
CSV, as compliance would download it, and checked row by row against what was done.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest

from mkoba.parties import Party
from mkoba.risk.reports import ctr, export_ctr, problems, week_window
from tests.risk.reports.filer import FILER, NAIROBI, THRESHOLD
from tests.world import CUSTOMER_PIN, KSH, World, wallet

pytestmark = pytest.mark.anyio

GENERATED = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def week_two_back() -> date:
    """The Monday of the week before last, in Nairobi (always wholly in the past)."""
    today = datetime.now(NAIROBI).date()
    return today - timedelta(days=today.weekday() + 14)


def ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000


@contextmanager
def at(world: World, moment: datetime) -> Iterator[None]:
    """The platform's clock stopped at ``moment`` for one block."""
    world.platform.clock.fixed = ns(moment)
    try:
        yield
    finally:
        world.platform.clock.fixed = None


async def deposit(world: World, customer: Party, amount: int, moment: datetime) -> str:
    with at(world, moment):
        response = await world.deposit(customer, amount)
    assert response.receipt
    return response.receipt


async def withdraw(world: World, customer: Party, amount: int, moment: datetime) -> str:
    agent, store = (world.agent_store.number or "").split("/")
    assert customer.msisdn
    with at(world, moment):
        response = await world.ask(
            "withdraw",
            customer.msisdn,
            CUSTOMER_PIN,
            agent=agent,
            store=store,
            amount=f"{amount // KSH}.{amount % KSH:02d}",
        )
    assert response.ok and response.receipt, response
    return response.receipt


def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=NAIROBI)


def xml_rows(body: bytes) -> list[tuple[str, str]]:
    report = ElementTree.fromstring(body)
    return [
        (str(t.findtext("transactionnumber")), str(t.findtext("amount_local")))
        for t in report.iter("transaction")
    ]


def csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


async def test_the_week_holds_the_cash_at_or_over_the_threshold_and_nothing_else(
    world: World,
) -> None:
    monday = week_two_back()
    sunday = monday + timedelta(days=6)
    first, second, third = [
        await world.customer(name=n) for n in ("Amina Wanjiru", "Otieno Odhiambo", "Zawadi")
    ]
    # Money to withdraw, issued by the operator (not a cash-in, so not in any report).
    await world.issue(wallet(second), 200_000 * KSH)

    at_the_start = await deposit(world, first, THRESHOLD, local(monday, 0))
    just_below = await deposit(world, first, THRESHOLD - 1, local(monday + timedelta(2), 12))
    at_the_end = await withdraw(world, second, 120_000 * KSH, local(sunday, 23, 59, 59))
    # The Sunday before, and the next Monday half an hour in: outside the week in Nairobi
    # (the second is still Sunday in UTC).
    before = await deposit(world, third, 150_000 * KSH, local(monday - timedelta(1), 23, 59, 59))
    after = await deposit(world, third, 150_000 * KSH, local(sunday + timedelta(1), 0, 30))

    directory = world.services.directory
    body = export_ctr(world.services.store, directory, FILER, monday, THRESHOLD, "xml", GENERATED)
    table = export_ctr(world.services.store, directory, FILER, monday, THRESHOLD, "csv", GENERATED)

    assert problems(body) == []
    assert xml_rows(body) == [(at_the_start, "100000.00"), (at_the_end, "120000.00")]
    rows = csv_rows(table)
    assert [(row["receipt"], row["amount"]) for row in rows] == xml_rows(body)
    for receipt in (just_below, before, after):
        assert receipt.encode() not in body
        assert receipt.encode() not in table

    cash_in, cash_out = rows
    store = world.agent_store
    assert cash_in["direction"] == "cash_in"
    assert cash_in["completed"] == local(monday, 0).isoformat()
    assert (cash_in["customer_party_id"], cash_in["customer_name"]) == (str(first.id), first.name)
    assert cash_in["customer_msisdn"] == first.msisdn
    assert (cash_in["agent_number"], cash_in["agent_name"]) == (store.number, store.name)
    assert cash_out["direction"] == "cash_out"
    assert cash_out["completed"] == local(sunday, 23, 59, 59).isoformat()
    assert cash_out["customer_party_id"] == str(second.id)
    assert cash_out["agent_party_id"] == str(store.id)
    assert {row["currency"] for row in rows} == {"KES"}


async def test_a_week_read_a_page_at_a_time_is_the_same_week(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A week of its own, clear of the other tests' weeks and the days around them.
    monday = week_two_back() - timedelta(days=28)
    customer = await world.customer(name="Imani Chebet")
    made = [
        await deposit(world, customer, THRESHOLD + cents, local(monday + timedelta(day), 10))
        for day, cents in ((1, 0), (1, 1), (4, 2))
    ]
    store, directory = world.services.store, world.services.directory
    whole = export_ctr(store, directory, FILER, monday, THRESHOLD, "csv", GENERATED)
    monkeypatch.setattr(ctr, "page_size", 1)
    paged = export_ctr(store, directory, FILER, monday, THRESHOLD, "csv", GENERATED)
    assert paged == whole
    # Two at one moment: the pages must break that tie as the whole list does.
    assert sorted(row["receipt"] for row in csv_rows(paged)) == sorted(made)


async def test_the_xml_is_goaml_shaped_and_the_same_each_time(world: World) -> None:
    # Two weeks before the first test's (whose Sunday-before deposit lies in the week between).
    monday = week_two_back() - timedelta(days=14)
    customer = await world.customer(name="Baraka Mwangi Njoroge")
    receipt = await deposit(
        world, customer, 130_000 * KSH + 50, local(monday + timedelta(3), 9, 15)
    )
    directory = world.services.directory

    body = export_ctr(world.services.store, directory, FILER, monday, THRESHOLD, "xml", GENERATED)
    again = export_ctr(world.services.store, directory, FILER, monday, THRESHOLD, "xml", GENERATED)

    assert body == again
    assert problems(body) == []
    report = ElementTree.fromstring(body)
    assert report.tag == "report"
    assert report.findtext("rentity_id") == "1234"
    assert report.findtext("report_code") == "CTR"
    assert report.findtext("currency_code_local") == "KES"
    assert report.findtext("submission_date") == "2026-12-07T12:00:00"
    assert report.findtext("reporting_person/last_name") == "Kamau"
    (transaction,) = report.findall("transaction")
    assert transaction.findtext("transactionnumber") == receipt
    assert transaction.findtext("amount_local") == "130000.50"
    when = local(monday + timedelta(3), 9, 15).strftime("%Y-%m-%dT%H:%M:%S")
    assert transaction.findtext("date_transaction") == when
    assert transaction.findtext("t_from_my_client/from_funds_code") == "K"
    assert transaction.findtext("t_from_my_client/from_person/first_name") == "Baraka Mwangi"
    assert transaction.findtext("t_from_my_client/from_person/last_name") == "Njoroge"
    number = transaction.findtext("t_from_my_client/from_person/phones/phone/tph_number")
    assert number == customer.msisdn
    assert transaction.findtext("t_to_my_client/to_person/last_name") == "Njoroge"
    assert world.agent_store.number in str(transaction.findtext("transaction_location"))


def test_a_week_runs_monday_to_monday_at_local_midnight() -> None:
    start, end = week_window(date(2026, 11, 30), NAIROBI)
    assert start == ns(datetime(2026, 11, 29, 21, 0, tzinfo=UTC))
    assert end - start == 7 * 86_400 * 1_000_000_000
    # Across a clock change the week is still Monday to Monday (one hour short here).
    start, end = week_window(date(2026, 3, 23), ZoneInfo("Europe/London"))
    assert end - start == (7 * 24 - 1) * 3_600 * 1_000_000_000
    with pytest.raises(ValueError, match="not a Monday"):
        week_window(date(2026, 12, 1), NAIROBI)


def test_our_schema_refuses_what_goaml_would() -> None:
    body = (
        b"<?xml version='1.0' encoding='utf-8'?><report><rentity_id>1</rentity_id>"
        b"<submission_code>E</submission_code><report_code>CTR</report_code>"
        b"<submission_date>2026-12-07</submission_date>"
        b"<currency_code_local>KES</currency_code_local></report>"
    )
    assert problems(body)
    assert problems(b"<report>") != []
