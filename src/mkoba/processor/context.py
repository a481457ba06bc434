"""A request in progress: its typed command, who is asking, PIN and limit checks.

Products call these helpers; each raises ``Refused`` with the right result code
and a clear message instead of returning a half-valid value.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, TypeVar

from mkoba.catalog import Profile
from mkoba.codes import Code
from mkoba.commands import Command
from mkoba.ledger import Balance
from mkoba.money import format_amount
from mkoba.parties import (
    Change,
    Credential,
    Party,
    PartyKind,
    PartyState,
    Pin,
    PinOutcome,
    Purpose,
    open_pin,
)
from mkoba.parties.secrets import Otp
from mkoba.processor.events import BusinessPayment
from mkoba.processor.moments import moment
from mkoba.processor.plan import Refused
from mkoba.processor.proof import Proof, needs_pin
from mkoba.processor.request import Request
from mkoba.processor.rows import usage_row

if TYPE_CHECKING:
    from mkoba.processor.services import Services


C = TypeVar("C", bound=Command)


class Context:
    """One request, and the services to answer it."""

    def __init__(
        self, services: Services, request: Request, now: int, proof: Proof = Proof.PIN
    ) -> None:
        self.services = services
        self.request = request
        self.now = now
        self.proof = proof
        self.profile: Profile = services.profile(now)
        self.directory = services.directory
        # Set once the requester's PIN has been checked and found right: the processor
        # refuses an OK answer from a product that needed a PIN and never checked it.
        self.pin_verified = False
        # A keyed tag of the PIN tried (memory only): a retry of the very same attempt
        # is answered from the replay without counting again.
        self.pin_tag: bytes | None = None
        # What this request's checks changed (a PIN try counted or forgiven, a daily
        # allowance used): nothing is written while a product runs; the processor
        # commits these with the request's outcome, whatever it is.
        self._credentials: dict[int, Credential] = {}
        self._counts: dict[tuple[int, str, str], int] = {}
        self._looked_up: list[int] = []

    # -- the command ------------------------------------------------------------------

    def command_as(self, kind: type[C]) -> C:
        """The request's command, typed as ``kind`` (the edge parsed it; the bus checked it)."""
        command = self.request.command
        if not isinstance(command, kind):
            raise Refused(Code.INVALID_INPUT, f"a {self.request.product} request needs its fields")
        return command

    def new_pin(self) -> Pin:
        """The new PIN the request carries, sealed by its channel; ``Refused`` without one."""
        sealed = self.request.new_pin
        if sealed is None:
            raise Refused(Code.INVALID_INPUT, "choose a new PIN")
        try:
            return open_pin(sealed, self.services.transport_key, self.request.id.encode() + b":new")
        except ValueError:
            raise Refused(Code.INVALID_INPUT, "the new PIN could not be read") from None

    def otp(self) -> Otp | None:
        """The one-time code the request carries to confirm a stepped-up payment, sealed by
        its channel; None without one, or one that cannot be read (it confirms nothing)."""
        sealed = self.request.otp
        if sealed is None:
            return None
        context = self.request.id.encode() + b":otp"
        try:
            return Otp(open_pin(sealed, self.services.transport_key, context).reveal())
        except ValueError:
            return None

    def money(self, minor: int) -> str:
        """An amount as people read it: ``Ksh1,000.00``."""
        return format_amount(minor, self.profile.currency)

    def local_time(self) -> dt.datetime:
        """Now, in the profile's time zone."""
        return dt.datetime.fromtimestamp(self.now / 1e9, self.profile.timezone)

    def day(self) -> str:
        """Today in the profile's time zone, as ``YYYY-MM-DD``: the unit of daily limits."""
        return moment(self.now, self.profile.timezone).day

    # -- parties ----------------------------------------------------------------------

    def initiator(self, *kinds: PartyKind) -> Party:
        """The registered, active party on the request's MSISDN, of one of ``kinds``."""
        party = self.directory.by_msisdn(self.request.msisdn)
        if party is None or party.state == PartyState.UNREGISTERED:
            raise Refused(Code.NOT_REGISTERED)
        if kinds and party.kind not in kinds:
            raise Refused(Code.NOT_ALLOWED, f"a {party.kind.replace('_', ' ')} cannot do that")
        if not party.active:
            raise Refused(Code.ACCOUNT_INACTIVE)
        return party

    def account(self, party: Party, purpose: Purpose) -> int:
        """A party's ledger account for ``purpose``; a missing one is a setup error."""
        account = self.directory.account(party.id, purpose)
        if account is None:
            raise Refused(
                Code.ACCOUNT_INACTIVE, f"{party.name} has no {purpose.name.lower()} account"
            )
        return account

    async def authenticate(self, party: Party) -> None:
        """Prove the request comes from ``party``'s phone, as the product's ``proof`` asks.

        For a ``PHONE`` product: nothing more on a channel that knows the caller's
        number; elsewhere, and whenever a PIN is given, the PIN.
        """
        if needs_pin(self.proof, self.request) or self.request.pin is not None:
            await self.verify_pin(party)

    async def verify_pin(self, party: Party) -> None:
        """Check the request's PIN for ``party``; ``Refused`` unless it is right.

        Writes nothing: the try (counted when wrong, forgiven when right) is committed
        by the processor with the request's outcome, before the answer leaves, so every
        wrong try is durable before it is answered.
        """
        sealed = self.request.pin
        if sealed is None:
            raise Refused(Code.INVALID_INPUT, "the PIN is required")
        try:
            pin = open_pin(sealed, self.services.transport_key, self.request.id.encode())
        except ValueError:
            raise Refused(Code.INVALID_INPUT, "the PIN could not be read") from None
        credential = self.directory.credentials.get(party.id)
        attempts_max = self.profile.pin_attempts_max
        self.pin_tag = self.services.vault.attempt_tag(party.id, pin)
        check = self.services.vault.check(credential, pin, attempts_max)
        if check.changed:
            assert check.credential is not None
            self._credentials[party.id] = check.credential
        if check.outcome == PinOutcome.OK:
            # A PIN reset by staff is temporary: it serves only to choose a new one.
            temporary = check.credential is not None and check.credential.must_change
            if temporary and self.request.product != "change_pin":
                raise Refused(
                    Code.PIN_NOT_SET,
                    "Your PIN was reset: change the temporary PIN first (My Account, Change PIN).",
                )
            self.pin_verified = True
            return
        if check.outcome == PinOutcome.NOT_SET:
            raise Refused(Code.PIN_NOT_SET)
        if check.outcome == PinOutcome.LOCKED:
            raise Refused(Code.PIN_LOCKED)
        tries = "try" if check.attempts_left == 1 else "tries"
        raise Refused(
            Code.WRONG_PIN,
            f"Wrong PIN. {check.attempts_left} {tries} left before your PIN is locked.",
            attempts_left=check.attempts_left,
        )

    def payment_to(
        self, payer: Party, payee: Party, amount: int, reference: str, received_into: int
    ) -> BusinessPayment:
        """This request as a payment to the business ``payee`` (``processor/events.py``)."""
        request = self.request
        return BusinessPayment(
            request.id,
            request.channel,
            request.callback,
            request.product,
            payer,
            payee,
            amount,
            reference,
            received_into,
        )

    async def validate(self, payment: BusinessPayment) -> BusinessPayment:
        """The business's say, before the PIN: the payment as it accepted it, or ``Refused``."""
        third_party = await self.services.validation.validate(payment, self.now)
        return payment._replace(third_party=third_party) if third_party else payment

    def count(self, party: Party, kind: str, by: int = 1) -> int:
        """Use ``by`` more of ``party``'s daily allowance of ``kind``; the new count.

        Committed by the processor with the request's outcome (``pending``). A guarded
        payment counts the ``value`` it sent this way once the ledger has taken it.
        """
        assert by > 0
        key = (party.id, self.day(), kind)
        used = self._counts.get(key, self.services.usage.get(key, 0)) + by
        self._counts[key] = used
        return used

    def mark(self, party: Party, kind: str, value: int) -> None:
        """Set ``party``'s ``kind`` for today to ``value`` (a lockout's end, ns), committed
        with the request's outcome as the counts are."""
        self._counts[(party.id, self.day(), kind)] = value

    def marked(self, party: Party, kind: str, days: int) -> int:
        """The highest ``kind`` marked for ``party`` today or on the ``days`` before."""
        today = moment(self.now, self.profile.timezone).local.date()
        found = 0
        for back in range(days + 1):
            day = (today - dt.timedelta(days=back)).isoformat()
            key = (party.id, day, kind)
            found = max(found, self._counts.get(key, self.services.usage.get(key, 0)))
        return found

    def looked_up(self, target_id: int) -> None:
        """The requester saw ``target_id``'s name: a payment to it today gives the look-up back.

        Remembered by the processor with the request's outcome (``commit_checks``).
        """
        self._looked_up.append(target_id)

    def checked(self) -> Change | None:
        """The credentials this request's PIN checks changed, to commit with its outcome."""
        return Change(credentials=tuple(self._credentials.values())) if self._credentials else None

    async def commit_checks(self, *, credentials: bool = True) -> None:
        """Commit what the checks changed, then apply it in memory (the processor's step).

        ``credentials``: False when they go with the outcome's own commit instead.
        """
        change = self.checked() if credentials else None
        writes = change.writes() if change is not None else []
        writes += [usage_row(*key, used) for key, used in self._counts.items()]
        self._remember_lookups()
        if not writes:
            return
        results = await self.services.writer.submit_async([], attach=writes)
        assert results == []
        if change is not None:
            self.directory.apply(change)
            self._credentials.clear()
        self.services.usage.update(self._counts)
        self._counts.clear()

    def _remember_lookups(self) -> None:
        if not self._looked_up:
            return
        party = self.directory.by_msisdn(self.request.msisdn)
        if party is not None:
            day = self.day()
            known = self.services.lookups.get(party.id)
            if known is None or known[0] != day:
                known = (day, set())
                self.services.lookups[party.id] = known
            known[1].update(self._looked_up)
        self._looked_up.clear()

    # -- limits -----------------------------------------------------------------------

    def check_amount(self, product: str, amount: int) -> None:
        """The product's minimum and maximum for one transaction."""
        minimum = self.profile.minimum(product)
        if amount < minimum:
            raise Refused(Code.BELOW_MINIMUM, f"The minimum is {self.money(minimum)}.")
        maximum = self.profile.maximum(product)
        if amount > maximum:
            raise Refused(Code.ABOVE_MAXIMUM, f"The maximum is {self.money(maximum)}.")

    def check_limits(self, party: Party, product: str, amount: int) -> None:
        """The product's bounds and the party's KYC tier limits (per transaction and daily)."""
        self.check_amount(product, amount)
        if party.kind != PartyKind.CUSTOMER or party.kyc_tier is None:
            return
        limits = self.profile.limits(party.kyc_tier)
        if amount > limits.transaction_max:
            raise Refused(
                Code.LIMIT_EXCEEDED,
                f"You can transact at most {self.money(limits.transaction_max)} at a time.",
            )
        used = self.usage(party, "value")
        if used + amount > limits.daily_max:
            left = max(0, limits.daily_max - used)
            raise Refused(
                Code.DAILY_LIMIT_EXCEEDED,
                f"You can transact {self.money(left)} more today.",
                remaining=left,
            )

    def usage(self, party: Party, kind: str) -> int:
        """How much of ``kind`` (``value`` sent, ``lookups``) the party used today."""
        key = (party.id, self.day(), kind)
        return self._counts.get(key, self.services.usage.get(key, 0))

    async def balances(self, accounts: list[int]) -> list[Balance]:
        """The ledger balances of ``accounts``, as of everything committed before."""
        found = await asyncio.wrap_future(self.services.writer.balances(accounts))
        assert all(balance is not None for balance in found), accounts
        return [balance for balance in found if balance is not None]
