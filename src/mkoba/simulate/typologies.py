"""The fraud typologies a simulation injects, each case with its ground truth.

A case is the fraud's own requests (``Case.requests``), the customers it concerns
(``Case.msisdns``) and the rule expected to catch it. Its actors are fresh customers
registered through TranProc and funded at an agent the day before (``setup``
requests: neither normal traffic nor the fraud), so the truth is never muddled with
the background's. Thresholds come from the profile's rules, so a case is "just over"
what the rule watches, as a fraudster who knows the limits would make it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from mkoba.catalog import Profile
from mkoba.risk.simswap import RecordedSimSwap
from mkoba.simulate.driver import DAY_NS, HOUR_NS, MINUTE_NS, Action, Driver, Store, moment


@dataclass
class Case:
    """One injected fraud: its typology, the rule expected to catch it, and its truth."""

    typology: str
    rule: str
    index: int
    msisdns: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)


@dataclass
class Scene:
    """What an injector works with: the driver, the stores, the rules, the swap feed."""

    driver: Driver
    stores: list[Store]
    profile: Profile
    swaps: RecordedSimSwap

    @property
    def major(self) -> int:
        """Minor units per major unit."""
        return self.profile.currency.minor_per_major

    def ksh(self, minor: int) -> int:
        """A profile amount (minor units) in whole major units."""
        return minor // self.major

    def store(self, *avoid: Store) -> Store:
        """A store, not one of ``avoid``."""
        return self.driver.rng.choice([s for s in self.stores if s not in avoid])


def _fresh(scene: Scene, case: Case, when: int, funds_ksh: int = 0, id_number: str = "") -> str:
    """A customer of the case registered at ``when``, given ``funds_ksh`` an hour later."""
    driver = scene.driver
    msisdn = driver.fresh_msisdn()
    case.msisdns.add(msisdn)

    async def register() -> None:
        await driver.register(msisdn, id_number)

    driver.at(when, register)
    left, hour = funds_ksh, 0
    top = scene.ksh(scene.profile.limits(scene.profile.tiers[-1]).transaction_max)
    while left > 0:  # in deposits an hour apart at different stores (no split deposit)
        part = min(left, top)
        hour += 1
        driver.at(
            when + hour * HOUR_NS, _deposit(scene, "setup", None, scene.store(), msisdn, part)
        )
        left -= part
    return msisdn


def _deposit(
    scene: Scene, kind: str, case: Case | None, store: Store, msisdn: str, ksh: int
) -> Action:
    async def act() -> None:
        request_id = await scene.driver.deposit(kind, store, msisdn, ksh)
        if case is not None:
            case.requests.append(request_id)

    return act


def _send(scene: Scene, case: Case, msisdn: str, to: str, ksh: int) -> Action:
    async def act() -> None:
        case.requests.append(await scene.driver.send("case", msisdn, to, ksh))

    return act


def _withdraw(scene: Scene, case: Case, msisdn: str, store: Store, ksh: int) -> Action:
    async def act() -> None:
        case.requests.append(await scene.driver.withdraw("case", msisdn, store, ksh))

    return act


def _swap(scene: Scene, msisdn: str, at: int) -> Action:
    async def act() -> None:
        scene.swaps.record(msisdn, moment(at))

    return act


def sim_swap(scene: Scene, case: Case, start: int) -> None:
    """R6: the SIM is swapped, then the taker cashes out or pays a new payee a lot."""
    rng, rule = scene.driver.rng, scene.profile.risk
    assert rule is not None
    victim = _fresh(scene, case, start - DAY_NS, rng.randrange(20_000, 60_000))
    mule = _fresh(scene, case, start - DAY_NS)
    swapped = start - rng.randrange(1, min(20, rule.R6.max_age_hours)) * HOUR_NS
    scene.driver.at(swapped, _swap(scene, victim, swapped))
    big = scene.ksh(rule.R6.new_payee_over) + rng.randrange(1_000, 10_000)
    first, second = (
        (_send(scene, case, victim, mule, big), _withdraw(scene, case, victim, scene.store(), big))
        if rng.random() < 0.5
        else (
            _withdraw(scene, case, victim, scene.store(), big),
            _send(scene, case, victim, mule, big),
        )
    )
    scene.driver.at(start, first)
    scene.driver.at(start + rng.randrange(2, 15) * MINUTE_NS, second)


def velocity(scene: Scene, case: Case, start: int) -> None:
    """R1: a burst of small payments in an hour (an account being emptied, or tested)."""
    rng, rule = scene.driver.rng, scene.profile.risk
    assert rule is not None
    payer = _fresh(scene, case, start - DAY_NS, 30_000)
    payees = [_fresh(scene, case, start - DAY_NS) for _ in range(3)]
    count = rule.R1.per_hour + rng.randint(1, 4)
    for index in range(count):
        when = start + index * (50 * MINUTE_NS // count)
        scene.driver.at(
            when, _send(scene, case, payer, rng.choice(payees), rng.randrange(100, 1_000))
        )


def large_day(scene: Scene, case: Case, start: int) -> None:
    """R2: a day's value out far above the wallet's usual, close to the daily limit."""
    rng, rule, profile = scene.driver.rng, scene.profile.risk, scene.profile
    assert rule is not None
    limits = profile.limits(profile.tiers[-1])
    share = rule.R2.limit_share
    total = math.ceil(scene.ksh(limits.daily_max) * share.numerator / share.denominator)
    total = min(scene.ksh(limits.daily_max), total + rng.randrange(1_000, 20_000))
    parts = 2 if total <= 2 * scene.ksh(limits.transaction_max) else 3
    payer = _fresh(scene, case, start - DAY_NS, min(scene.ksh(limits.balance_max), total + 5_000))
    payee = _fresh(scene, case, start - DAY_NS)
    for index in range(parts):
        when = start + index * rng.randrange(20, 90) * MINUTE_NS
        scene.driver.at(when, _send(scene, case, payer, payee, total // parts + 1))


def dormant(scene: Scene, case: Case, start: int) -> None:
    """R8: a wallet quiet for half a year is swapped and drained."""
    rng, rule = scene.driver.rng, scene.profile.risk
    assert rule is not None
    quiet = (rule.R8.dormant_days + rng.randrange(5, 60)) * DAY_NS
    opened = start - quiet - 2 * DAY_NS
    owner = _fresh(scene, case, opened, rng.randrange(10_000, 40_000))
    friend = _fresh(scene, case, opened)
    scene.driver.at(
        opened + 3 * HOUR_NS, _setup_send(scene, owner, friend, rng.randrange(100, 500))
    )
    mule = _fresh(scene, case, start - DAY_NS)
    swapped = start - rng.randrange(1, min(20, rule.R8.window_hours)) * HOUR_NS
    scene.driver.at(swapped, _swap(scene, owner, swapped))
    big = scene.ksh(rule.R8.over) + rng.randrange(1_000, 5_000)
    act = (
        _send(scene, case, owner, mule, big)
        if rng.random() < 0.5
        else _withdraw(scene, case, owner, scene.store(), big)
    )
    scene.driver.at(start, act)


def _setup_send(scene: Scene, msisdn: str, to: str, ksh: int) -> Action:
    async def act() -> None:
        await scene.driver.send("setup", msisdn, to, ksh)

    return act


def split_deposit(scene: Scene, case: Case, start: int) -> None:
    """R4: one agent splits one customer's cash into deposits minutes apart (commission).

    The agent splits only where it pays: the parts earn more than the whole would.
    """
    rng, rule = scene.driver.rng, scene.profile.risk
    assert rule is not None
    customer = _fresh(scene, case, start - DAY_NS)
    store = scene.store()
    count = rule.R4.count + rng.randint(0, 2)
    each = _paying_split(scene, count)
    gap = rule.R4.window_minutes * MINUTE_NS // (count + 1)
    for index in range(count):
        scene.driver.at(start + index * gap, _deposit(scene, "case", case, store, customer, each))


def _paying_split(scene: Scene, count: int) -> int:
    """A part (major units) ``count`` of which earn more commission than their sum would."""
    rng, profile = scene.driver.rng, scene.profile
    for _ in range(1_000):
        each = rng.randrange(500, 20_000)
        parts = count * profile.commission("deposit", each * scene.major)
        if parts > profile.commission("deposit", count * each * scene.major):
            return each
    raise ValueError(f"{profile.name}: no split of a deposit earns more commission")


def structuring(scene: Scene, case: Case, start: int) -> None:
    """R3: one person's cash, under the CTR threshold each time, over their wallets in a day.

    A wallet holds at most the tier's balance, so the cash is spread over wallets that
    one ID document registered, as a structurer with several lines does.
    """
    rng, rule, profile = scene.driver.rng, scene.profile.risk, scene.profile
    assert rule is not None
    limits = profile.limits(profile.tiers[-1])
    ctr = scene.ksh(rule.ctr_threshold)
    share = rule.R3.share
    needed = math.ceil(ctr * share.numerator / share.denominator) + rng.randrange(1_000, 30_000)
    each = min(scene.ksh(limits.transaction_max), ctr - 1) - rng.randrange(1_000, 20_000)
    per_wallet = max(1, (scene.ksh(limits.balance_max) - 1_000) // each)
    deposits = max(rule.R3.count, math.ceil(needed / each))
    id_number = f"STR{case.index:05d}{rng.randrange(1000):03d}"
    wallets = [
        _fresh(scene, case, start - DAY_NS, id_number=id_number)
        for _ in range(math.ceil(deposits / per_wallet))
    ]
    span = (rule.R3.window_hours - 2) * HOUR_NS
    for index in range(deposits):
        when = start + index * (span // deposits)
        store = scene.stores[index % len(scene.stores)]
        scene.driver.at(
            when, _deposit(scene, "case", case, store, wallets[index // per_wallet], each)
        )


def mule(scene: Scene, case: Case, start: int) -> None:
    """R9: many senders pay one wallet in a day; it cashes the money out as it comes in.

    The senders pay through the morning; the mule cashes out after every few payments,
    each batch well within ``cashout_hours`` of its first payment's arrival.
    """
    rng, rule = scene.driver.rng, scene.profile.risk
    assert rule is not None
    receiver = _fresh(scene, case, start - DAY_NS)
    senders = rule.R9.senders + rng.randint(0, 4)
    spacing = rng.randrange(10, 25) * MINUTE_NS
    batch, batch_start, when = 0, start, start
    for index in range(senders):
        amount = rng.randrange(2_000, 9_000)
        sender = _fresh(scene, case, start - DAY_NS + index * 5 * MINUTE_NS, amount + 1_000)
        when = start + index * spacing
        scene.driver.at(when, _send(scene, case, sender, receiver, amount))
        batch += amount
        last = index == senders - 1
        if last or when + spacing - batch_start >= rule.R9.cashout_hours * HOUR_NS // 2:
            out = when + rng.randrange(5, 15) * MINUTE_NS
            scene.driver.at(out, _withdraw(scene, case, receiver, scene.store(), batch * 97 // 100))
            batch, batch_start = 0, when + spacing


def direct_deposit(scene: Scene, case: Case, start: int) -> None:
    """R5: cash in at one agent, straight out at another (an agent-to-agent cash move)."""
    rng = scene.driver.rng
    customer = _fresh(scene, case, start - DAY_NS)
    first = scene.store()
    amount = rng.randrange(3_000, 30_000)
    scene.driver.at(start, _deposit(scene, "case", case, first, customer, amount))
    later = start + rng.randrange(5, 25) * MINUTE_NS
    scene.driver.at(later, _withdraw(scene, case, customer, scene.store(first), amount * 95 // 100))


def reversal_abuse(scene: Scene, case: Case, start: int) -> None:
    """R10: a sender pays, then asks for the money back, again and again."""
    rng, rule = scene.driver.rng, scene.profile.risk
    assert rule is not None
    sender = _fresh(scene, case, start - 3 * DAY_NS, 30_000)
    count = rule.R10.count + rng.randint(0, 1)
    spacing = min(rule.R10.window_days * DAY_NS // (count + 1), 2 * DAY_NS)
    for index in range(count):
        payee = _fresh(scene, case, start - 3 * DAY_NS)
        when = start + index * spacing
        scene.driver.at(when, _reversed(scene, case, sender, payee, rng.randrange(1_000, 4_000)))


def _reversed(scene: Scene, case: Case, sender: str, payee: str, ksh: int) -> Action:
    async def act() -> None:
        driver = scene.driver
        paid = await driver.send("case", sender, payee, ksh)
        case.requests.append(paid)
        receipt = driver.receipt(paid)
        if receipt:
            wait = driver.rng.randrange(10, 120) * MINUTE_NS
            driver.at(driver.now() + wait, _ask_back(scene, case, sender, receipt))

    return act


def _ask_back(scene: Scene, case: Case, sender: str, receipt: str) -> Action:
    async def act() -> None:
        asked = await scene.driver.customer_pays(
            "case", "request_reversal", sender, receipt=receipt
        )
        case.requests.append(asked)

    return act


# Each typology: the rule expected to catch it, and its injector.
TYPOLOGIES: dict[str, tuple[str, Callable[[Scene, Case, int], None]]] = {
    "velocity burst": ("R1", velocity),
    "large day": ("R2", large_day),
    "structuring": ("R3", structuring),
    "split deposits": ("R4", split_deposit),
    "direct deposit": ("R5", direct_deposit),
    "SIM-swap takeover": ("R6", sim_swap),
    "dormant takeover": ("R8", dormant),
    "mule chain": ("R9", mule),
    "reversal abuse": ("R10", reversal_abuse),
}
