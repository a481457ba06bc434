"""The risk engine TranProc consults (``processor.risk_port.RiskCheck``).

Before a customer's payment commits, ``check`` runs the inline rules of the
profile in force (``inline.py``) over the payer's activity (``activity.py``).
The SIM-swap signal is asked only when a rule would act on it (a cash-out, a
first payment to a new payee above the threshold, a dormant account), once a
minute at most per number. The strongest action of the rules that fired
wins: refuse, then hold, then step up; a rule that only alerts lets the
payment through. Every hit is an alert for compliance (``AlertSink``).

Step up is "PIN again": the payment is answered ``confirm_required``, and the
same payment (payer, payee, amount) sent again with its PIN within
``confirm_minutes`` goes through. For a payer whose app device is bound, paying
from a channel that carries a code, it is a one-time code sent to that device
instead (``codes.py``; ``device_code`` is the channel's delivery, wired by ``app.py``).
A hold reserves the money (pending) until compliance releases it or ``hold_hours`` pass.

If the SIM-swap provider cannot answer, the payment is judged without the
signal (fail open) and compliance is alerted: an operator's outage must not
stop every withdrawal, and a silent gap must not go unseen.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from mkoba.catalog import Profile
from mkoba.parties import Directory, Party, PartyState
from mkoba.parties.dormancy import reactivated_change
from mkoba.processor.risk_port import (
    ALERT,
    ALLOW,
    ALLOWED,
    BY_PIN,
    CODE_CHANNELS,
    HOLD,
    REFUSE,
    STEP_UP,
    DeviceCode,
    Movement,
    Payment,
    Verdict,
)
from mkoba.risk import inline
from mkoba.risk.activity import HOUR_NS, Activities
from mkoba.risk.codes import Codes
from mkoba.risk.overrides import RuleBook
from mkoba.risk.registrations import Registrations
from mkoba.risk.simswap import NullSimSwap, SimSwapProvider, SimSwapUnavailable

log = logging.getLogger("mkoba.risk")


class StreamRules(Protocol):
    """The stream rules (``stream.py``): they watch committed events and raise alerts."""

    def observe(self, movement: Movement, profile: Profile) -> None:
        """One committed event (fast: in memory; alerts go out in the background)."""

    async def drain(self) -> None:
        """Wait for the alerts on their way (before the store closes)."""


class Sweeper(Protocol):
    """Background work of the rules that a stop ends (``dormancy.Dormancy``)."""

    async def stop(self) -> None:
        """End the work (before the writer and the store close)."""


class AlertSink(Protocol):
    """Where alerts go (``risk.alerts.Alerts.raise_alert``): the same ``key`` twice is
    one alert; ``str_clock`` starts the suspicious-transaction report's 2-day clock."""

    def __call__(
        self,
        rule: str,
        party_id: int,
        msisdn: str,
        severity: str,
        summary: str,
        details: dict[str, Any],
        str_clock: bool = False,
        *,
        key: str = "",
    ) -> Awaitable[object]: ...


swap_cache_s = 60
# PIN resets remembered for R8 at most (care resets a few a day per thousand customers).
resets_kept_max = 100_000
_STRENGTH = {REFUSE: 3, HOLD: 2, STEP_UP: 1, ALERT: 0}
_SEVERITY = {REFUSE: "high", HOLD: "high", STEP_UP: "medium", ALERT: "medium"}
RESET_REFUSED = (
    "The SIM of this number changed in the last {hours} hours: a PIN reset waits for the"
    " cool-off, or for a call-back to the customer's registered contact."
)
MESSAGES = {
    REFUSE: "For your security this cannot be done now. Please call customer care.",
    HOLD: "For your security this payment is held for a check. No money has moved yet;"
    " you will get an SMS when it is done.",
    STEP_UP: "For your security, confirm this payment: send it again, with your PIN,"
    " within {minutes} minutes.",
}


class RiskEngine:
    """The inline rules and what they remember."""

    def __init__(
        self, swaps: SimSwapProvider | None = None, alert: AlertSink | None = None
    ) -> None:
        self.swaps: SimSwapProvider = swaps or NullSimSwap()
        self.alert = alert
        self.seen = Activities()
        self._confirm: dict[tuple[int, int, int], int] = {}  # stepped up, until (ns)
        self._swap_cache: dict[str, tuple[int, datetime | None]] = {}
        self.hits = 0
        # The stream rules over committed events (alerts only); None: none run.
        self.stream: StreamRules | None = None
        # New parties screened against the sanctions and PEP list; None: none.
        self.registrations: Registrations | None = None
        # When a number's newest app device binding was made (R7); None: no app channel.
        self.newest_device: Callable[[str], Awaitable[int | None]] | None = None
        # Who is who (a dormant payer is woken by its payment); None: no dormancy.
        self.directory: Directory | None = None
        # Marks idle wallets dormant at start and then periodically (``dormancy.py``).
        self.dormancy: Sweeper | None = None
        # Where a step-up's one-time code goes: the payer's bound app device (None: "PIN
        # again" for everyone), and the codes open.
        self.device_code: DeviceCode | None = None
        self.codes = Codes()
        # Each customer's last PIN reset by care (ns): R8's other signal beside a swap.
        self.resets: dict[int, int] = {}
        # The rule changes staff approved (``overrides.py``): TranProc's profiles carry
        # them (``Services.rules``), so every rule reads its values from the profile.
        self.rules = RuleBook()

    def rebuild(self, rows: list[tuple[int, int, int, int]], now: int) -> int:
        """Start from stored payments ``(payer, payee, amount, ns)``, oldest first."""
        return self.seen.rebuild(rows, now)

    def committed(self, payment: Payment) -> None:
        """A payment moved (or reserved) money: the windows count it."""
        self.seen.record(payment.payer_id, payment.now, payment.amount, payment.payee_id)

    def registered(self, parties: Sequence[Party], request_id: str) -> None:
        """New parties, screened in the background (``registrations.py``), when set."""
        if self.registrations is not None:
            self.registrations.registered(parties, request_id)

    def observed(self, movement: Movement, profile: Profile) -> None:
        """A committed event, for the stream rules (``stream``, when set)."""
        if self.stream is not None and profile.risk is not None:
            self.stream.observe(movement, profile)

    async def drain(self) -> None:
        """Wait for the stream rules' alerts on their way: a stop calls it before the
        writer and the store close, so no alert is lost to the shutdown (and the
        dormancy sweep stops, as does the reading of staff's rule changes)."""
        if self.dormancy is not None:
            await self.dormancy.stop()
        if self.stream is not None:
            await self.stream.drain()
        if self.registrations is not None:
            await self.registrations.drain()
        await self.rules.drain()

    async def check(self, payment: Payment, profile: Profile) -> Verdict:
        """The verdict of the profile's inline rules on ``payment``; an allowed payment
        from a dormant wallet carries the change that makes it active again (committed
        with the payment: a held or refused one wakes nothing)."""
        verdict = await self._judge(payment, profile)
        if verdict.action != ALLOW or self.directory is None:
            return verdict
        party = self.directory.get(payment.payer_id)
        if party is None or party.state != PartyState.DORMANT:
            return verdict
        return verdict._replace(change=reactivated_change(party, payment.request_id, payment.now))

    async def _judge(self, payment: Payment, profile: Profile) -> Verdict:
        rules = profile.risk
        if rules is None:
            return ALLOWED
        seen = self.seen
        hits = [
            hit
            for hit in (
                inline.velocity_count(payment, profile, seen),
                inline.velocity_value(payment, profile, seen),
            )
            if hit is not None
        ]
        if self.newest_device is not None and inline.new_device_matters(payment, profile, seen):
            hit = inline.new_device(payment, profile, await self._bound_at(payment))
            if hit is not None:
                hits.append(hit)
        r6 = inline.sim_swap_matters(payment, profile, seen)
        r8 = inline.dormant(payment, profile, seen)
        if r6 or r8:
            changed = await self._latest_change(payment)
            window = rules.R8.window_hours
            if _within(changed, payment, window):
                then: str | None = "a SIM swap"
            elif payment.now - self.resets.get(payment.payer_id, 0) < window * HOUR_NS:
                then = "a PIN reset by care"
            else:
                then = None
            for hit in (
                inline.sim_swap(
                    payment, profile, seen, _within(changed, payment, rules.R6.max_age_hours)
                ),
                inline.dormant_reactivation(payment, profile, seen, then),
            ):
                if hit is not None:
                    hits.append(hit)
        if not hits:
            return ALLOWED
        self.hits += len(hits)
        strongest = max(hits, key=lambda hit: _STRENGTH.get(hit.action, 0))
        action = strongest.action
        by_code = None
        if action == STEP_UP and self.device_code is not None and await self._device(payment):
            by_code = self.codes.judge(payment, rules.confirm_minutes, self.device_code)
            action = ALERT if by_code.action == ALLOW else STEP_UP  # ALLOW: the code was right
        elif action == STEP_UP and self._confirmed(payment):
            action = ALERT  # sent again within the window: the PIN was asked twice
        for hit in hits:
            await self._alert(payment, hit.rule, hit.action, hit.reason, action)
        if action == ALERT:
            return ALLOWED
        if by_code is not None:
            return by_code._replace(rule=strongest.rule)
        if action == STEP_UP:
            key = (payment.payer_id, payment.payee_id, payment.amount)
            self._confirm[key] = payment.now + rules.confirm_minutes * 60 * 1_000_000_000
            message = MESSAGES[STEP_UP].format(minutes=rules.confirm_minutes)
            return Verdict(STEP_UP, strongest.rule, message, confirm=BY_PIN)
        return Verdict(action, strongest.rule, MESSAGES[action], rules.hold_hours * 3600)

    async def check_reset(self, msisdn: str, party_id: int, profile: Profile, now: int) -> Verdict:
        """R6 on a PIN reset by care: refused within the SIM-swap cool-off (a call-back to
        the registered contact, or the cool-off's end, comes first). A reset allowed is
        remembered for R8 (from the check, before its commit: a reset that then fails
        only makes R8 look harder at the payer's next day)."""
        verdict = await self._reset_verdict(msisdn, party_id, profile, now)
        if verdict.action == ALLOW:
            self.remember_reset(party_id, now)
        return verdict

    def remember_reset(self, party_id: int, at: int) -> None:
        """A PIN reset by care of ``party_id`` at ``at`` (ns), for R8."""
        self.resets[party_id] = max(at, self.resets.get(party_id, 0))
        if len(self.resets) > resets_kept_max:  # the oldest half goes (R8 looks back a day)
            kept = sorted(self.resets.items(), key=lambda item: item[1])[len(self.resets) // 2 :]
            self.resets = dict(kept)

    async def _reset_verdict(
        self, msisdn: str, party_id: int, profile: Profile, now: int
    ) -> Verdict:
        rules = profile.risk
        if rules is None or not rules.R6.enabled:
            return ALLOWED
        probe = Payment(
            f"reset:{party_id}:{now}", "console", "reset_pin", party_id, msisdn, None, 0, 0, now
        )
        if not _within(await self._latest_change(probe), probe, rules.R6.max_age_hours):
            return ALLOWED
        reason = "a PIN reset by care within the SIM-swap cool-off"
        await self._alert(probe, "R6", REFUSE, reason, REFUSE)
        return Verdict(REFUSE, "R6", RESET_REFUSED.format(hours=rules.R6.max_age_hours))

    async def _bound_at(self, payment: Payment) -> int | None:
        assert self.newest_device is not None
        try:
            return await self.newest_device(payment.msisdn)
        except Exception:  # judged without the signal, as a SIM-swap outage is
            log.exception("risk: the device binding could not be read")
            return None

    async def _device(self, payment: Payment) -> bool:
        """Whether a step-up of ``payment`` is by a code to the payer's bound device."""
        if payment.channel not in CODE_CHANNELS or self.newest_device is None:
            return False
        return await self._bound_at(payment) is not None

    def _confirmed(self, payment: Payment) -> bool:
        key = (payment.payer_id, payment.payee_id, payment.amount)
        until = self._confirm.pop(key, 0)
        if len(self._confirm) > 10_000:  # forget the expired
            now = payment.now
            self._confirm = {k: v for k, v in self._confirm.items() if v > now}
        return until >= payment.now

    async def _latest_change(self, payment: Payment) -> Swap:
        """The line's last SIM change, as far as it can be known."""
        cached = self._swap_cache.get(payment.msisdn)
        if cached is not None and payment.now - cached[0] < swap_cache_s * 1_000_000_000:
            return Swap(True, cached[1])
        try:
            changed = await self.swaps.latest_change(payment.msisdn)
        except SimSwapUnavailable as error:
            log.warning("risk: the SIM-swap signal is unavailable (%s)", error.code)
            await self._alert(payment, "R6", ALERT, "the SIM-swap check could not be made", ALERT)
            return Swap(False, None)
        if len(self._swap_cache) > 100_000:
            self._swap_cache.clear()
        self._swap_cache[payment.msisdn] = (payment.now, changed)
        return Swap(True, changed)

    async def _alert(
        self, payment: Payment, rule: str, action: str, reason: str, taken: str
    ) -> None:
        if self.alert is None:
            return
        details = {
            "request_id": payment.request_id,
            "product": payment.product,
            "amount": payment.amount,
            "payee_id": payment.payee_id,
            "channel": payment.channel,
            "action": taken,
        }
        summary = f"{rule}: {reason}; {taken}"
        try:
            await self.alert(
                rule,
                payment.payer_id,
                payment.msisdn,
                _SEVERITY.get(action, "medium"),
                summary,
                details,
                key=f"{rule}:{payment.request_id}",
            )
        except Exception:  # an alert lost is logged; the payment's verdict stands
            log.exception("risk: an alert could not be raised")


class Swap(NamedTuple):
    """The SIM-swap signal: whether it could be asked, and the line's last SIM change."""

    known: bool
    changed: datetime | None


def _within(swap: Swap, payment: Payment, hours: int) -> bool | None:
    """Whether the last SIM change falls within ``hours`` before the payment (None: unknown)."""
    if not swap.known:
        return None
    if swap.changed is None:
        return False
    age_ns = payment.now - int(swap.changed.timestamp() * 1_000_000_000)
    return age_ns < hours * HOUR_NS
