"""What TranProc asks the risk rules before a payment commits, and tells them after.

The rules themselves are ``mkoba.risk`` (their data is the profile's ``risk``
section); TranProc knows only this port. Before a customer's own payment
commits, ``check`` gets its facts and answers a ``Verdict``: allow; hold (the
money is reserved, pending, until compliance releases it or the hold runs
out); step up; or refuse. ``committed`` tells the rules of every payment that
moved money, so their windows and counters follow the books.

A step-up is confirmed by the PIN again, or, for a payer whose app device is bound
and who pays from a channel that carries a code (``CODE_CHANNELS``), by a one-time
code the rules send to that device through ``DeviceCode`` (a channel's, wired by
``app.py``): the payment sent again carries it (``Request.otp``, sealed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

from mkoba.catalog import Profile
from mkoba.codes import Code
from mkoba.parties import Change, Party, PartyKind
from mkoba.parties.secrets import Otp

if TYPE_CHECKING:
    from mkoba.processor.guarded import Settled
    from mkoba.processor.plan import Plan
    from mkoba.processor.request import Request

ALLOW, HOLD, STEP_UP, REFUSE, ALERT = "allow", "hold", "step_up", "refuse", "alert"
# Verdicts answered with a refusal (the payment is not made).
REFUSING = frozenset({REFUSE, STEP_UP})
CASH_OUT = frozenset({"withdraw"})
# The products whose new parties are screened against the sanctions and PEP list.
REGISTRATIONS = frozenset({"register", "register_customer", "onboard_business"})
# Asking for a reversal holds the money (a guarded decision): the stream rules watch it.
REVERSAL_ASKED = "request_reversal"
# The channels whose requests can carry a step-up's one-time code (the others: PIN again).
CODE_CHANNELS = frozenset({"app", "api"})
# How a stepped-up payment is confirmed (``Verdict.confirm``, the response's ``confirm``).
BY_PIN, BY_CODE = "pin", "code"


class Payment(NamedTuple):
    """The facts of one payment, as the rules read them."""

    request_id: str
    channel: str
    product: str
    payer_id: int
    # The number that asked: the payer's own for the payments the inline rules judge.
    msisdn: str
    # The payer's KYC tier (None: not a customer).
    tier: str | None
    payee_id: int
    amount: int
    now: int
    # Money leaving the wallet as cash (a withdrawal at an agent).
    cash_out: bool = False
    # When the payer's account was opened (ns): a new account is not a dormant one.
    payer_since: int = 0
    # The payer's language (the customer's messages are in it).
    language: str = "en"
    # The one-time code the payment carries, confirming a step-up (None: none).
    otp: Otp | None = None


class Movement(NamedTuple):
    """A committed event the stream rules watch: any payment (a deposit, a withdrawal, a
    transfer, a bill), or a request that moves no money yet (a reversal asked for)."""

    request_id: str
    product: str
    channel: str
    # Who asked (a party id; 0: not a known party) and who paid whom.
    initiator_id: int
    payer_id: int
    payee_id: int
    amount: int
    # The agent's commission on it (the split-deposit rule compares them).
    commission: int
    now: int
    # Held by the inline rules: reserved, not moved yet.
    held: bool = False


class Verdict(NamedTuple):
    """What the rules decided, which rule decided it, and what the customer is told."""

    action: str = ALLOW
    rule: str = ""
    message: str = ""
    # How long a hold lasts before the money goes back unreviewed (seconds).
    hold_s: int = 0
    # A directory change to commit with an allowed payment (a dormant wallet made
    # active again by its owner's payment), or None.
    change: Change | None = None
    # A step-up: confirmed by the PIN again (``BY_PIN``) or a code sent to the device.
    confirm: str = ""


ALLOWED = Verdict()


class DeviceCode(Protocol):
    """Deliver a step-up's one-time code to the payer's bound device (a channel's part)."""

    def __call__(self, msisdn: str, code: Otp, amount: int, minutes: int) -> None:
        """Tell ``msisdn``'s device ``code`` confirms a payment of ``amount`` (minutes left)."""


class RiskCheck(Protocol):
    """The inline rules, as TranProc sees them."""

    async def check(self, payment: Payment, profile: Profile) -> Verdict:
        """The verdict on ``payment`` under ``profile``'s rules (ALLOWED without any)."""

    def committed(self, payment: Payment) -> None:
        """``payment`` moved money (or reserved it, held): the windows count it."""

    def observed(self, movement: Movement, profile: Profile) -> None:
        """A committed event: the stream rules see it (they raise alerts, never block)."""

    def registered(self, parties: Sequence[Party], request_id: str) -> None:
        """A registration committed ``parties``: they are screened (alerts, never blocks)."""

    async def check_reset(self, msisdn: str, party_id: int, profile: Profile, now: int) -> Verdict:
        """The verdict on a PIN reset by care for ``msisdn`` (R6: not within a swap's cool-off)."""

    async def drain(self) -> None:
        """Wait for the alerts on their way (TranProc's stop, before the store closes)."""


def payment_of(
    request: Request, plan: Plan, initiator: Party | None, now: int, otp: Otp | None = None
) -> Payment | None:
    """The facts of a customer's own payment (None: not one the inline rules judge);
    ``otp``: the one-time code the request carries, opened."""
    if initiator is None or initiator.kind != PartyKind.CUSTOMER or plan.amount <= 0:
        return None
    if initiator.id != plan.payer_id or request.staff is not None:
        return None
    return Payment(
        request.id,
        str(request.channel),
        plan.product,
        plan.payer_id,
        request.msisdn,
        initiator.kyc_tier,
        plan.payee_id,
        plan.amount,
        now,
        plan.product in CASH_OUT,
        initiator.created,
        initiator.language,
        otp,
    )


def code_of(verdict: Verdict) -> Code:
    """What a refusing verdict is answered with."""
    return Code.CONFIRM_REQUIRED if verdict.action == STEP_UP else Code.REFUSED_FOR_SECURITY


def data_of(verdict: Verdict) -> dict[str, str]:
    """What a refusing verdict's response carries besides its message: how to confirm."""
    return {"confirm": verdict.confirm} if verdict.confirm else {}


def movement_of(
    request: Request, plan: Plan, initiator: Party | None, now: int, held: bool
) -> Movement:
    """A committed plan as the stream rules see it."""
    return Movement(
        request.id,
        plan.product,
        str(request.channel),
        initiator.id if initiator is not None else 0,
        plan.payer_id,
        plan.payee_id,
        plan.amount,
        plan.commission,
        now,
        held,
    )


def reversal_asked(request: Request, settled: Settled, now: int) -> Movement | None:
    """A reversal asked for and held, as the stream rules see it (None: not one).

    The asker is the initiator and the payer; the payee is the recipient of the
    original payment, from whom the amount is held (no commission, nothing moved yet).
    """
    plan = settled.plan
    if request.product != REVERSAL_ASKED or plan is None or settled.posted is None:
        return None
    if not settled.posted.ok or not settled.record.response.ok:
        return None
    # The hold runs from the recipient's wallet back to the asker's.
    asker, recipient = plan.payee_id, plan.payer_id
    channel = str(request.channel)
    return Movement(
        request.id, request.product, channel, asker, asker, recipient, plan.amount, 0, now
    )
