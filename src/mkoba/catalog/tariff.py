"""Charges as functions of the amount: free, by band, or a capped rate.

Everything here is integer minor units and exact fractions; a tariff is
evaluated with a binary search over band tops, so a fee costs O(log bands).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple


def divide_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` (both non-negative) to the nearest integer, halves up (5/2 -> 3).

    Integers rather than a Fraction: this runs for every fee of every payment.
    """
    assert numerator >= 0 and denominator > 0, "charges are never negative"
    whole, remainder = divmod(numerator, denominator)
    return whole + (1 if 2 * remainder >= denominator else 0)


@dataclass(frozen=True, slots=True)
class Band:
    """One tariff-sheet row: amounts ``lowest``..``highest`` (minor units) cost ``charge``."""

    lowest: int
    highest: int
    charge: int


@dataclass(frozen=True, slots=True)
class FreeCharge:
    """Nothing to pay (or, for a commission, nothing earned)."""

    def of(self, amount: int) -> int:
        """The charge on ``amount`` minor units: always 0."""
        assert amount >= 0
        return 0


@dataclass(frozen=True, slots=True)
class BandCharge:
    """A charge looked up by band, as on a tariff sheet.

    A band written ``101–500`` covers every amount above the previous band's top
    (100) up to and including 500, so an amount with cents between two whole-unit
    bands (100.50) is in the upper one, as a sheet written in whole shillings means.
    """

    bands: tuple[Band, ...]
    tops: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        assert self.bands, "a band charge has at least one band"
        object.__setattr__(self, "tops", tuple(band.highest for band in self.bands))
        assert list(self.tops) == sorted(set(self.tops)), "band tops strictly ascend"

    def of(self, amount: int) -> int:
        """The charge on ``amount`` minor units (which the caller has range-checked)."""
        assert self.bands[0].lowest <= amount <= self.bands[-1].highest
        index = bisect.bisect_left(self.tops, amount)
        charge = self.bands[index].charge
        assert 0 <= charge <= amount
        return charge


@dataclass(frozen=True, slots=True)
class RateCharge:
    """A percentage of the amount, free up to ``free_up_to``, at most ``cap`` (if any).

    The rate applies to the whole amount once the amount is above ``free_up_to``
    (Lipa na M-PESA: 0.5 % of 201 is 1.005), rounded half-up to the minor unit.
    """

    rate: Fraction
    cap: int | None
    free_up_to: int

    def __post_init__(self) -> None:
        assert 0 <= self.rate <= 1
        assert self.cap is None or self.cap >= 0
        assert self.free_up_to >= 0

    def of(self, amount: int) -> int:
        """The charge on ``amount`` minor units."""
        assert amount >= 0
        if amount <= self.free_up_to:
            return 0
        charge = divide_half_up(amount * self.rate.numerator, self.rate.denominator)
        if self.cap is not None:
            charge = min(charge, self.cap)
        assert 0 <= charge <= amount
        return charge


Charge = FreeCharge | BandCharge | RateCharge
FREE = FreeCharge()


class Payers(NamedTuple):
    """Who pays what for one product (or one variant of it)."""

    customer: Charge
    business: Charge


class Fee(NamedTuple):
    """What the customer and the business pay, minor units, excise included."""

    customer: int
    business: int

    @property
    def total(self) -> int:
        """Customer and business fee together: the operator's fee income before excise."""
        return self.customer + self.business


@dataclass(frozen=True, slots=True, eq=False)
class ProductTariff:
    """One product's range, fees (possibly per variant) and agent commission."""

    name: str
    minimum: int
    maximum: int
    payers: Payers | None
    variants: Mapping[str, Payers]
    default_variant: str | None
    commission: Charge

    def __post_init__(self) -> None:
        assert 0 < self.minimum <= self.maximum
        assert (self.payers is None) != (not self.variants), "payers or variants, not both"
        assert self.default_variant is None or self.default_variant in self.variants

    def check_amount(self, amount: int) -> None:
        """Refuse anything but an ``int`` of minor units in ``minimum..maximum``."""
        if type(amount) is not int:
            raise TypeError(f"amounts are integer minor units, not {type(amount).__name__}")
        if not self.minimum <= amount <= self.maximum:
            raise ValueError(
                f"{self.name}: amount {amount} is outside {self.minimum}..{self.maximum} "
                "(minor units); check limits before asking for a fee"
            )

    def payers_for(self, variant: str | None) -> Payers:
        """The payers' charges for ``variant`` (``None``: the product's own or default)."""
        if self.payers is not None:
            if variant is not None:
                raise KeyError(f"{self.name} has no variants (got {variant!r})")
            return self.payers
        chosen = variant if variant is not None else self.default_variant
        if chosen is None:
            raise KeyError(f"{self.name} needs a variant: one of {', '.join(self.variants)}")
        try:
            return self.variants[chosen]
        except KeyError:
            raise KeyError(
                f"{self.name} has no variant {chosen!r}: one of {', '.join(self.variants)}"
            ) from None

    def fee(self, amount: int, variant: str | None) -> Fee:
        """The fee on ``amount`` minor units under ``variant``."""
        self.check_amount(amount)
        payers = self.payers_for(variant)
        return Fee(payers.customer.of(amount), payers.business.of(amount))
