"""The risk engine as a process starts it: its memory rebuilt from the receipts.

Like daily usage, the rules' windows and payees are rebuilt at start from what
the books hold (``history.payments_since``: every payment made or held in the
last ``memory_days``), so a restart forgets no velocity window and no payee.
The stream rules' windows (``stream.py``) are rebuilt the same way, from the
payments of the last ``stream_hours`` and the reversals asked for in the last
``reversal_days_max``, without raising anything again. The rule changes staff
approved (``overrides.py``) are read from their table and laid over every profile
TranProc reads (``Services.rules``). Then the dormancy sweep starts
(``dormancy.py``): idle customer wallets are marked dormant at start and every
``dormancy.sweep_interval_s`` after.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from mkoba.ledger import Store
from mkoba.parties.resets import pin_resets_since as resets_since
from mkoba.processor import history
from mkoba.processor.services import Services
from mkoba.risk import overrides
from mkoba.risk.activity import DAY_NS, memory_days
from mkoba.risk.dormancy import Dormancy
from mkoba.risk.engine import AlertSink, RiskEngine
from mkoba.risk.registrations import Registrations, load_screener
from mkoba.risk.simswap import (
    CamaraSimSwap,
    ClientCredentials,
    NullSimSwap,
    RecordedSimSwap,
    Secret,
    SimSwapProvider,
    StaticToken,
    TokenSource,
)
from mkoba.risk.stream import Stream
from mkoba.risk.stream_cash import cash_hours_max
from mkoba.risk.stream_hit import HOUR_NS
from mkoba.risk.stream_mule import mule_hours_max, reversal_days_max
from mkoba.settings import Settings

# The longest window of the stream rules over payments (R4's and R5's are shorter).
stream_hours = max(cash_hours_max, mule_hours_max)

log = logging.getLogger("mkoba.risk")


async def start_engine(
    services: Services,
    swaps: SimSwapProvider | None = None,
    alert: AlertSink | None = None,
    screening: str = "",
) -> RiskEngine:
    """A risk engine that remembers the store's recent payments, and screens new parties
    against ``screening`` (``registrations.load_screener``)."""
    store, now, directory = services.store, services.clock(), services.directory

    def identity(party_id: int) -> str:
        """One customer is one ID document: its keyed digest (the party without one)."""
        party = directory.get(party_id)
        return party.id_digest if party is not None and party.id_digest else f"party:{party_id}"

    engine = RiskEngine(swaps, alert if alert is not None else log_alert)
    screener = await asyncio.to_thread(load_screener, screening)
    engine.registrations = Registrations(screener, engine.alert)
    started = time.perf_counter()
    rows = await asyncio.to_thread(history.payments_since, store, now - memory_days * DAY_NS)
    count = engine.rebuild(rows, now)
    log.info(
        "risk: %d payments of %d payers remembered in %.2f s",
        count,
        len(engine.seen),
        time.perf_counter() - started,
    )
    # R8's PIN resets by care, as far back as its window looks.
    risk = services.profile(now).risk
    hours = risk.R8.window_hours if risk is not None else 24
    resets = await asyncio.to_thread(resets_since, store, now - hours * HOUR_NS)
    for party_id, at in resets:
        engine.remember_reset(party_id, at)
    engine.stream = await start_stream(store, now, engine.alert, identity)
    # The rule changes staff approved, kept in the store: in force again after a restart.
    await asyncio.to_thread(overrides.migrate, store)
    engine.rules = overrides.RuleBook(store)
    changed = await engine.rules.reload()
    if changed:
        log.info("risk: %d rule change(s) approved by staff", changed)
    engine.rules.watch()
    services.rules = engine.rules.effective
    engine.directory = directory
    writer = services.writer
    engine.dormancy = dormancy = Dormancy(
        directory,
        engine.seen,
        lambda writes: writer.submit_async([], attach=writes),
        services.profile,
        services.clock,
    )
    dormancy.start()
    return engine


async def start_stream(
    store: Store,
    now: int,
    alert: AlertSink | None,
    identity: Callable[[int], str] | None = None,
) -> Stream:
    """The stream rules, their windows rebuilt from the store's recent events."""
    started = time.perf_counter()
    stream = Stream(alert, identity)
    payments = await asyncio.to_thread(history.movements_since, store, now - stream_hours * HOUR_NS)
    asked = await asyncio.to_thread(
        history.reversals_asked_since, store, now - reversal_days_max * DAY_NS
    )
    count = stream.rebuild(sorted([*payments, *asked], key=lambda movement: movement.now))
    log.info(
        "risk: the stream rules remember %d events (%.2f s)",
        count,
        time.perf_counter() - started,
    )
    return stream


async def log_alert(
    rule: str,
    party_id: int,
    msisdn: str,
    severity: str,
    summary: str,
    details: dict[str, Any],
    str_clock: bool = False,
    *,
    key: str = "",
) -> None:
    """Where alerts go without a queue: the log (party id only, never the number)."""
    del msisdn, details, str_clock, key
    log.warning("risk alert %s (%s) on party %d: %s", rule, severity, party_id, summary)


def swap_provider(settings: Settings, recorded: list[tuple[str, int]]) -> SimSwapProvider:
    """The SIM-swap signal ``settings`` name (``simswap_provider``).

    ``sim_cards``: the swaps the platform's own SIM-toolkit cards record (``recorded``:
    number and ns, and ``RecordedSimSwap.record`` as new ones are provisioned).
    ``camara``: the operator's API, with a static token in ``keys_dir/camara-token`` or
    client credentials (``simswap_client_id``, secret in ``keys_dir/camara-client-secret``).
    ``ValueError`` for a CAMARA provider without what it needs.
    """
    kind = settings.simswap_provider
    if kind == "none":
        return NullSimSwap()
    if kind == "sim_cards":
        swaps = RecordedSimSwap()
        for msisdn, at in recorded:
            swaps.record(msisdn, datetime.fromtimestamp(at / 1e9, UTC))
        return swaps
    if not settings.simswap_url:
        raise ValueError("MKOBA_SIMSWAP_PROVIDER=camara needs MKOBA_SIMSWAP_URL")
    token_file = settings.keys_dir / "camara-token"
    source: TokenSource
    if token_file.exists():
        source = StaticToken(Secret.from_file(token_file))
    elif settings.simswap_token_url and settings.simswap_client_id:
        secret = Secret.from_file(settings.keys_dir / "camara-client-secret")
        source = ClientCredentials(settings.simswap_token_url, settings.simswap_client_id, secret)
    else:
        raise ValueError(
            "MKOBA_SIMSWAP_PROVIDER=camara needs keys_dir/camara-token, or"
            " MKOBA_SIMSWAP_TOKEN_URL, MKOBA_SIMSWAP_CLIENT_ID and keys_dir/camara-client-secret"
        )
    return CamaraSimSwap(settings.simswap_url, source, timeout_s=settings.simswap_timeout_s)


def swap_feed(
    provider: SimSwapProvider,
    then: Callable[[str, str], Coroutine[Any, Any, object]] | None = None,
) -> Callable[[str, int], None]:
    """What to do with a swap made while running (number, ns): ``provider`` records it if
    it keeps swaps, and ``then(number, "sim_swap")`` runs (the app's device bindings of
    that number end: a new SIM is a new phone until it is bound again)."""

    def feed(msisdn: str, at: int) -> None:
        if isinstance(provider, RecordedSimSwap):
            provider.record(msisdn, datetime.fromtimestamp(at / 1e9, UTC))
        if then is not None:
            task: asyncio.Task[object] = asyncio.get_running_loop().create_task(
                then(msisdn, "sim_swap")
            )
            _followers.add(task)
            task.add_done_callback(_followed)

    return feed


_followers: set[asyncio.Task[object]] = set()


def _followed(task: asyncio.Task[object]) -> None:
    _followers.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("risk: acting on a SIM swap failed: %s", type(task.exception()).__name__)
