"""``/staff/v1/dashboard``: volumes and values, success rate and latency, agent float levels.

Three parts, each from its owner:
- **volumes and values** of completed transactions, by product and by channel, per
  local day over a range (per hour when the range is one day), from TranProc's
  receipts (``processor/history.py``: the channel is the one of the request that made
  each receipt);
- **success rate and latency**, from the platform's own Prometheus metrics, read in
  process (``health.py``): since this server started, and per minute for the last hour;
- **agent float levels**: every agent store's and super-agent's float balance, lowest
  first, each marked when under the threshold (``low``, minor units).

Roles with a part in ``dashboards`` see it (no personal data is shown: business
names and numbers only); each look is audited. The back office's **Dashboard** page
charts this JSON with uPlot, vendored in ``static/``: nothing leaves the server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from typing import TYPE_CHECKING

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from mkoba.channels.console import health
from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.channels.console.pages import render_page, signed_in_page
from mkoba.parties import PartyKind, Purpose
from mkoba.processor import history
from mkoba.statements.render import days_ns

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

# The longest range charted, in days (a quarter), and how many floats are listed.
range_days_max = 92
floats_max = 200
# Agents read for their float at the most (a bound on one request's work).
agents_read_max = 20_000
# A float under this is marked low unless the caller names another threshold (Ksh5,000).
float_low_default = 500_000
HOUR_NS = 3_600_000_000_000
AGENT_KINDS = (PartyKind.AGENT_STORE, PartyKind.SUPER_AGENT)


class Series(BaseModel):
    """One line of a chart: a count and a value (minor units) per step."""

    transactions: list[int]
    amount: list[int]


class Volumes(BaseModel):
    """Completed transactions per step, by product and by channel."""

    step: str
    # Each step's start: an ISO day, or an ISO local time for hours; and in epoch seconds.
    labels: list[str]
    times: list[int]
    by_product: dict[str, Series]
    by_channel: dict[str, Series]
    total: Series


class ProductHealth(BaseModel):
    """One product's requests decided in the window, and how long they took."""

    product: str
    requests: int
    succeeded: int
    success_rate: float | None
    latency_mean_ms: float | None
    latency_p95_ms: float | None


class Minute(BaseModel):
    """One sampled minute, all products together."""

    at: int
    requests: int
    success_rate: float | None
    latency_p95_ms: float | None


class Health(BaseModel):
    """Success rate and latency from the metrics, and the window they cover."""

    window: str
    since: int
    products: list[ProductHealth]
    total: ProductHealth
    minutes: list[Minute]


class FloatLevel(BaseModel):
    """An agent's float balance."""

    party_id: int
    kind: str
    name: str
    number: str
    balance: int
    low: bool


class Floats(BaseModel):
    """Agent float balances, lowest first."""

    threshold: int
    agents: int
    below: int
    levels: list[FloatLevel]


class Dashboard(BaseModel):
    """Everything the dashboard charts."""

    start: dt.date
    end: dt.date
    currency: str
    # Minor units per major unit: the charts draw values in shillings.
    minor_per_major: int
    made: int
    volumes: Volumes
    health: Health
    floats: Floats


def may_see_dashboards(console: ConsoleChannel, who: Caller) -> None:
    """``Refusal`` unless ``who``'s role has a part in the dashboards."""
    if not console.policy.sees(who.account.role, "dashboards"):
        raise Refusal(403, "Your role has no part in the dashboards.")


def _range(
    console: ConsoleChannel, start: dt.date | None, end: dt.date | None
) -> tuple[dt.date, dt.date]:
    zone = console.ports.profile().timezone
    today = dt.datetime.fromtimestamp(console.ports.clock() / 1e9, zone).date()
    end = end or today
    start = start or end - dt.timedelta(days=6)
    if start > end:
        raise Refusal(422, "start: on or before end.")
    if (end - start).days + 1 > range_days_max:
        raise Refusal(422, f"The range is at most {range_days_max} days.")
    return start, end


async def volumes(console: ConsoleChannel, start: dt.date, end: dt.date) -> Volumes:
    """Completed volumes and values per day (per hour for one day), by product and channel."""
    zone = console.ports.profile().timezone
    first, last = days_ns(zone, start, end)
    found = await console.read(history.volumes_by_bucket, first, last, HOUR_NS)
    hourly = start == end
    hours = (last - first + HOUR_NS - 1) // HOUR_NS
    # Each hour's step: itself, or the local day it falls in (days may have 23 or 25 hours).
    labels: list[str] = []
    times: list[int] = []
    step_of: list[int] = []
    for hour in range(hours):
        moment = dt.datetime.fromtimestamp((first + hour * HOUR_NS) / 1e9, zone)
        label = moment.isoformat(timespec="minutes") if hourly else moment.date().isoformat()
        if not labels or labels[-1] != label:
            labels.append(label)
            times.append(int(moment.timestamp()) if hourly else _midnight(moment, zone))
        step_of.append(len(labels) - 1)
    steps = len(labels)

    def empty() -> Series:
        return Series(transactions=[0] * steps, amount=[0] * steps)

    by_product: dict[str, Series] = {}
    by_channel: dict[str, Series] = {}
    total = empty()
    for row in found:
        step = step_of[min(row.bucket, hours - 1)]
        for table, name in ((by_product, row.product), (by_channel, row.channel or "unknown")):
            series = table.setdefault(name, empty())
            series.transactions[step] += row.transactions
            series.amount[step] += row.amount
        total.transactions[step] += row.transactions
        total.amount[step] += row.amount
    return Volumes(
        step="hour" if hourly else "day",
        labels=labels,
        times=times,
        by_product=dict(sorted(by_product.items())),
        by_channel=dict(sorted(by_channel.items())),
        total=total,
    )


def _midnight(moment: dt.datetime, zone: dt.tzinfo) -> int:
    return int(dt.datetime.combine(moment.date(), dt.time(), zone).timestamp())


def _product_health(product: str, totals: health.Totals) -> ProductHealth:
    count = totals.buckets[-1][1] if totals.buckets else 0
    p95 = health.quantile_s(totals.buckets, 0.95)
    return ProductHealth(
        product=product,
        requests=totals.requests,
        succeeded=totals.succeeded,
        success_rate=totals.succeeded / totals.requests if totals.requests else None,
        latency_mean_ms=totals.seconds_sum * 1000 / count if count else None,
        latency_p95_ms=None if p95 is None else p95 * 1000,
    )


def _together(found: dict[str, health.Totals]) -> health.Totals:
    bounds: dict[float, int] = {}
    for totals in found.values():
        for bound, count in totals.buckets:
            bounds[bound] = bounds.get(bound, 0) + count
    return health.Totals(
        sum(t.requests for t in found.values()),
        sum(t.succeeded for t in found.values()),
        sum(t.seconds_sum for t in found.values()),
        tuple(sorted(bounds.items())),
    )


def platform_health(sampler: health.Sampler) -> Health:
    """Success rate and latency since the server started, and per sampled minute."""
    now = health.read_totals()
    products = [_product_health(name, totals) for name, totals in sorted(now.items())]
    minutes: list[Minute] = []
    samples = list(sampler.samples)
    for before, after in itertools.pairwise(samples):
        moved = _together(
            {
                name: health.difference(totals, before.totals.get(name))
                for name, totals in after.totals.items()
            }
        )
        p95 = health.quantile_s(moved.buckets, 0.95)
        minutes.append(
            Minute(
                at=after.at // 1_000_000_000,
                requests=moved.requests,
                success_rate=moved.succeeded / moved.requests if moved.requests else None,
                latency_p95_ms=None if p95 is None else p95 * 1000,
            )
        )
    return Health(
        window=(
            "Requests this server's TranProc decided since it started (wall clock), and per"
            f" minute for the last {health.samples_max} minutes; success is a result of"
            f" {' or '.join(sorted(health.SUCCESS_CODES))}; latency from the request reaching"
            " TranProc to its response (p95 is the histogram bucket's upper bound)."
        ),
        since=sampler.started,
        products=products,
        total=_product_health("all", _together(now)),
        minutes=minutes,
    )


async def float_levels(console: ConsoleChannel, threshold: int) -> Floats:
    """Agent stores' and super-agents' float balances, lowest first."""
    directory = console.reads.directory
    agents = [party for kind in AGENT_KINDS for party in directory.of_kind(kind)]
    agents = agents[:agents_read_max]
    held = [(party, directory.account(party.id, Purpose.FLOAT)) for party in agents]
    with_float = [(party, account) for party, account in held if account is not None]
    balances = await console.tables.balances([account for _, account in with_float])
    levels = [
        FloatLevel(
            party_id=party.id,
            kind=party.kind.value,
            name=party.name,
            number=party.number or "",
            balance=0 if found is None else found.credits_posted - found.debits_posted,
            low=False,
        )
        for (party, _), found in zip(with_float, balances, strict=True)
    ]
    levels.sort(key=lambda level: (level.balance, level.party_id))
    for level in levels:
        level.low = level.balance < threshold
    return Floats(
        threshold=threshold,
        agents=len(levels),
        below=sum(level.low for level in levels),
        levels=levels[:floats_max],
    )


async def make_dashboard(
    console: ConsoleChannel, start: dt.date, end: dt.date, threshold: int
) -> Dashboard:
    """The whole dashboard for a range of local days."""
    found_volumes, floats = await asyncio.gather(
        volumes(console, start, end), float_levels(console, threshold)
    )
    return Dashboard(
        start=start,
        end=end,
        currency=console.ports.profile().currency.code,
        minor_per_major=console.ports.profile().currency.minor_per_major,
        made=console.ports.clock(),
        volumes=found_volumes,
        health=platform_health(console.health),
        floats=floats,
    )


def router(console: ConsoleChannel) -> APIRouter:
    """The dashboard's JSON route and its page."""
    api = APIRouter(tags=["dashboard"])

    @api.get("/staff/v1/dashboard", response_model=Dashboard, responses={403: {}, 422: {}})
    async def dashboard(
        http: Request,
        start: dt.date | None = None,
        end: dt.date | None = None,
        low: int = Query(float_low_default, ge=0, le=10**15, description="float threshold"),
    ) -> Response:
        """Volumes and values over local days ``start``..``end`` (the last 7 by default),
        success rate and latency, agent float levels."""
        who = await caller(console, http)
        may_see_dashboards(console, who)
        first, last = _range(console, start, end)
        made = await make_dashboard(console, first, last, low)
        detail: dict[str, object] = {"start": first.isoformat(), "end": last.isoformat()}
        await record(console, who, origin(http), "dashboard.view", detail=detail)
        return Response(made.model_dump_json(), media_type="application/json")

    @api.get("/staff/dashboard", include_in_schema=False)
    async def dashboard_page(
        http: Request,
        start: dt.date | None = None,
        end: dt.date | None = None,
        low: int = Query(float_low_default, ge=0, le=10**15),
    ) -> Response:
        """The charts; the page's script reads ``/staff/v1/dashboard`` with the same query."""
        who = await signed_in_page(console, http)
        if not isinstance(who, Caller):
            return who
        may_see_dashboards(console, who)
        first, last = _range(console, start, end)
        return render_page(console, "dashboard.html", who, start=first, end=last, low=low)

    return api
