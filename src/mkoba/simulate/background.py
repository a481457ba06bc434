"""Normal traffic: what the demo's customers do on ordinary days.

Each customer gets a habit: a home agent store, two to four regular payees among the
others, a biller with an account number, a usual till, and a pace (one to four
payments a day on average). Each day's payments fall between 07:00 and 21:00; the kind
is drawn by weight (sends, till purchases, airtime, bills, cash-outs, the odd cash-in)
and the amount from a log-normal around a typical value, as mobile-money amounts are
skewed. A payment the wallet cannot cover becomes a cash-in at the home store first,
then the payment a few minutes later, as people top up before they pay.

Honest SIM swaps happen too (a lost phone, a new SIM): each customer changes SIM
during the run with the chance ``swap_rate`` (a share a year) gives over its days; the
customer then goes on as before, and the rules must let them (R6 refuses a cash-out
for 72 hours after any swap: a real cost, which this counts).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from mkoba.parties import Party
from mkoba.risk.simswap import RecordedSimSwap
from mkoba.simulate.driver import DAY_NS, HOUR_NS, MINUTE_NS, Action, Driver, Store, moment

# (kind, weight, median amount in major units, spread (sigma of the log))
KINDS = (
    ("send", 30, 700, 0.9),
    ("till", 30, 350, 0.8),
    ("airtime", 15, 100, 0.6),
    ("bill", 7, 1_500, 0.6),
    ("withdraw", 13, 1_500, 0.8),
    ("deposit", 5, 3_000, 0.8),
)
amount_max = 70_000  # the long tail stops here: no normal payment is a large one
margin_ksh = 500  # fees and rounding: a payment needs this much besides its amount
day_start_h, day_end_h = 7, 21


@dataclass(frozen=True, slots=True)
class Habit:
    """One customer's ordinary life on the platform."""

    party: Party
    home: Store
    payees: tuple[str, ...]
    biller: str
    account: str
    till: str
    pace: float  # payments a day, on average


def habits(
    customers: list[Party],
    stores: list[Store],
    tills: list[str],
    billers: list[str],
    rng: random.Random,
) -> list[Habit]:
    """A habit for each customer."""
    numbers = [party.msisdn or "" for party in customers]
    made = []
    for party in customers:
        others = [number for number in numbers if number != party.msisdn]
        made.append(
            Habit(
                party,
                rng.choice(stores),
                tuple(rng.sample(others, min(len(others), rng.randint(2, 4)))),
                rng.choice(billers),
                f"ACC{party.id}",
                rng.choice(tills),
                rng.uniform(1.0, 4.0),
            )
        )
    return made


def amount(rng: random.Random, median: int, sigma: float, minimum: int = 10) -> int:
    """A log-normal amount around ``median``, whole units, in [minimum, amount_max]."""
    drawn = median * math.exp(rng.gauss(0.0, sigma))
    return max(minimum, min(amount_max, int(round(drawn, -1 if drawn > 100 else 0))))


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's: the means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def schedule(driver: Driver, habits_: list[Habit], start: int, days: int) -> int:
    """Schedule ``days`` of normal traffic from ``start`` (a midnight); how many payments."""
    rng = driver.rng
    weights = [weight for _, weight, _, _ in KINDS]
    count = 0
    for day in range(days):
        midnight = start + day * 24 * HOUR_NS
        for habit in habits_:
            for _ in range(poisson(rng, habit.pace)):
                kind, _, median, sigma = rng.choices(KINDS, weights)[0]
                when = midnight + rng.randrange(day_start_h * HOUR_NS, day_end_h * HOUR_NS)
                driver.at(when, _payment(driver, habit, kind, amount(rng, median, sigma)))
                count += 1
    return count


def honest_swaps(
    driver: Driver,
    habits_: list[Habit],
    swaps: RecordedSimSwap,
    start: int,
    days: int,
    swap_rate: float,
) -> int:
    """Schedule the honest SIM swaps of the run (``swap_rate``: a share a year); how many."""
    rng = driver.rng
    chance = min(1.0, swap_rate * days / 365)
    count = 0
    for habit in habits_:
        if rng.random() < chance:
            when = start + rng.randrange(0, days * DAY_NS)
            driver.at(when, _swap(swaps, habit.party.msisdn or "", when))
            count += 1
    return count


def _swap(swaps: RecordedSimSwap, msisdn: str, when: int) -> Action:
    async def act() -> None:
        swaps.record(msisdn, moment(when))

    return act


def _payment(driver: Driver, habit: Habit, kind: str, ksh: int) -> Action:
    async def act() -> None:
        msisdn = habit.party.msisdn or ""
        if kind == "deposit":
            await driver.deposit("normal", habit.home, msisdn, max(50, ksh))
            return
        if kind == "airtime":
            ksh_ = min((20, 50, 100, 200, 500), key=lambda choice: abs(choice - ksh))
        else:
            ksh_ = max(50, ksh) if kind == "withdraw" else ksh
        balance = await driver.balance_ksh(habit.party)
        if balance < ksh_ + margin_ksh:
            top_up = ksh_ + margin_ksh - balance + amount(driver.rng, 2_000, 0.6)
            await driver.deposit("normal", habit.home, msisdn, top_up)
            driver.at(
                driver.now() + driver.rng.randrange(3, 40) * MINUTE_NS,
                _pay(driver, habit, kind, ksh_),
            )
            return
        await _pay(driver, habit, kind, ksh_)()

    return act


def _pay(driver: Driver, habit: Habit, kind: str, ksh: int) -> Action:
    async def act() -> None:
        msisdn = habit.party.msisdn or ""
        if kind == "send":
            await driver.send("normal", msisdn, driver.rng.choice(habit.payees), ksh)
        elif kind == "till":
            await driver.customer_pays(
                "normal", "buy_goods", msisdn, till=habit.till, amount=str(ksh)
            )
        elif kind == "airtime":
            await driver.customer_pays("normal", "buy_airtime", msisdn, amount=str(ksh))
        elif kind == "bill":
            await driver.customer_pays(
                "normal",
                "pay_bill",
                msisdn,
                paybill=habit.biller,
                account=habit.account,
                amount=str(ksh),
            )
        else:
            await driver.withdraw("normal", msisdn, habit.home, ksh)

    return act
