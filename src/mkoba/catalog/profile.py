"""A profile version (tariffs, limits, commissions in force from one moment) and a catalog.

A ``Profile`` answers every question the processor asks about money rules:
fees, commissions, excise, limits, deadlines. A ``Catalog`` is the history of
one profile's versions and picks the one in force at a moment, so a receipt
charged under an old tariff can always be explained by the version it names.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import NamedTuple
from zoneinfo import ZoneInfo

from mkoba.catalog.errors import CatalogError
from mkoba.catalog.risk_schema import RiskSchema
from mkoba.catalog.tariff import Fee, ProductTariff, divide_half_up
from mkoba.money import Currency


class TierLimits(NamedTuple):
    """A KYC tier's limits, minor units."""

    transaction_max: int
    daily_max: int
    balance_max: int


class VoucherRules(NamedTuple):
    """Sending to unregistered numbers: whether it is on, how long a voucher lives, its cap."""

    enabled: bool
    validity: timedelta
    transaction_max: int


class RequestRules(NamedTuple):
    """Money requests and split bills: on or off, lifetime, open cap, reminders."""

    enabled: bool
    validity: timedelta
    # Open (unpaid, unlapsed) requests one requester may have; friends in one bill.
    open_max: int
    friends_max: int
    # Reminders to a friend who has not paid a bill: how often, how many at most.
    reminder_interval: timedelta
    reminders_max: int


class GiftRules(NamedTuple):
    """Gift vouchers: how long one can be redeemed or cashed before it goes back."""

    validity: timedelta


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class Profile:
    """One version of a profile: everything in force from ``effective_from`` on.

    Attributes:
      name: the profile (``"kenya"``).
      version: a stable id of this version (``"kenya@2023-08-15"``), stored on receipts.
      effective_from: when it comes into force, tz-aware UTC.
      timezone: the profile's local time zone (days for daily limits, receipt times).
      currency, ledger, country: the profile's money, ledger number and phone region.
      note: what changed in this version, from the file.
      excise_rate: the excise duty rate included in every fee (0.15 for 15 %).
      pin_attempts_max, name_lookups_per_day: security limits.
      voucher: rules for money sent to unregistered numbers.
      reversal_window: how long after a transfer a customer may ask for a reversal.
      requests, gifts: money requests, split bills and gift vouchers (the app).

    Profiles compare and hash by identity: one loaded file gives one object per
    version; compare ``version`` ids across loads.
    """

    name: str
    version: str
    effective_from: datetime
    timezone: ZoneInfo
    currency: Currency
    ledger: int
    country: str
    note: str
    excise_rate: Fraction
    tier_limits: Mapping[str, TierLimits]
    pin_attempts_max: int
    name_lookups_per_day: int
    voucher: VoucherRules
    deadlines: Mapping[str, int]
    reversal_window: timedelta
    tariffs: Mapping[str, ProductTariff]
    requests: RequestRules
    gifts: GiftRules
    # The fraud and AML rules in force (``risk_schema.RiskSchema``); None: no rule runs.
    risk: RiskSchema | None = None

    def __post_init__(self) -> None:
        assert self.effective_from.tzinfo is UTC, "effective_from is UTC"
        assert self.tier_limits, "a profile has at least one tier"
        assert 0 <= self.excise_rate <= 1
        assert self.pin_attempts_max >= 1

    def __repr__(self) -> str:
        return f"Profile({self.version!r})"

    @property
    def tiers(self) -> tuple[str, ...]:
        """KYC tier names, lowest first."""
        return tuple(self.tier_limits)

    @property
    def products(self) -> frozenset[str]:
        """The products this version offers."""
        return frozenset(self.tariffs)

    def limits(self, tier: str) -> TierLimits:
        """The limits of ``tier``; ``KeyError`` for a tier this profile does not have."""
        try:
            return self.tier_limits[tier]
        except KeyError:
            raise KeyError(
                f"{self.version} has no tier {tier!r}: {', '.join(self.tiers)}"
            ) from None

    def tariff(self, product: str) -> ProductTariff:
        """The whole tariff of ``product``; ``KeyError`` for a product not offered."""
        try:
            return self.tariffs[product]
        except KeyError:
            offered = ", ".join(sorted(self.tariffs))
            raise KeyError(f"{self.version} does not offer {product!r}: {offered}") from None

    def minimum(self, product: str) -> int:
        """The smallest amount of ``product`` per transaction, minor units."""
        return self.tariff(product).minimum

    def maximum(self, product: str) -> int:
        """The largest amount of ``product`` per transaction, minor units (tiers apart)."""
        return self.tariff(product).maximum

    def variants(self, product: str) -> tuple[str, ...]:
        """The tariff variants of ``product`` (a paybill's), empty when it has none."""
        return tuple(self.tariff(product).variants)

    def fee(self, product: str, amount: int, variant: str | None = None) -> Fee:
        """What the customer and the business pay on ``amount`` minor units, excise included.

        Raises ``ValueError`` for an amount outside ``minimum..maximum`` and
        ``KeyError`` for an unknown product or variant (or a variant the product
        does not need, or a missing one where the product has no default).
        """
        return self.tariff(product).fee(amount, variant)

    def commission(self, product: str, amount: int) -> int:
        """The agent's commission on ``amount`` minor units of ``product`` (0 if none)."""
        tariff = self.tariff(product)
        tariff.check_amount(amount)
        return tariff.commission.of(amount)

    def excise(self, fee: int) -> int:
        """The excise duty included in ``fee`` minor units: fee × r / (1 + r), half-up."""
        if type(fee) is not int:
            raise TypeError(f"fees are integer minor units, not {type(fee).__name__}")
        if fee < 0:
            raise ValueError(f"a fee is never negative, got {fee}")
        # With r = p/q: fee × p / (q + p), in integers (a Fraction per payment costs more).
        rate = self.excise_rate
        duty = divide_half_up(fee * rate.numerator, rate.denominator + rate.numerator)
        assert 0 <= duty <= fee
        return duty

    def deadline_s(self, channel: str) -> int:
        """Seconds to deliver a response on ``channel`` before rollback; 0 means no deadline."""
        try:
            return self.deadlines[channel]
        except KeyError:
            known = ", ".join(self.deadlines)
            raise KeyError(f"{self.version} has no deadline for {channel!r}: {known}") from None


@dataclass(frozen=True, slots=True)
class Catalog:
    """The versions of one profile, oldest first, and the file they came from."""

    name: str
    source: str
    versions: tuple[Profile, ...]

    def __post_init__(self) -> None:
        assert self.versions, "a catalog has at least one version"
        starts = [profile.effective_from for profile in self.versions]
        assert starts == sorted(set(starts)), "versions strictly ascend"
        assert all(profile.name == self.name for profile in self.versions)

    def at(self, when: datetime) -> Profile:
        """The version in force at ``when`` (tz-aware); ``CatalogError`` before the first."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError(f"{when.isoformat()} has no time zone: pass an aware datetime")
        index = bisect.bisect_right(self.versions, when, key=lambda p: p.effective_from) - 1
        if index < 0:
            first = self.versions[0]
            raise CatalogError.single(
                self.source,
                f"no {self.name} version is in force at {when.isoformat()}: "
                f"the first ({first.version}) starts "
                f"{first.effective_from.astimezone(first.timezone).isoformat()}",
            )
        profile = self.versions[index]
        assert profile.effective_from <= when
        return profile

    def current(self) -> Profile:
        """The version in force now."""
        return self.at(datetime.now(UTC))

    def by_id(self, version: str) -> Profile:
        """The version whose id a receipt stored (``"kenya@2021-01-01"``); ``KeyError`` if none."""
        for profile in self.versions:
            if profile.version == version:
                return profile
        known = ", ".join(profile.version for profile in self.versions)
        raise KeyError(f"{self.source} has no version {version!r}: {known}")
