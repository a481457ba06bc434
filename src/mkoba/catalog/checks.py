"""Semantic checks of one (merged) version: rules that span more than one field.

Each check is a pure function returning ``(path, message)`` pairs, paths
relative to the version; the loader prefixes them with ``versions[i]`` and the
file name. The schema has already checked types, ranges and unknown keys.
"""

from __future__ import annotations

from mkoba.catalog.errors import Path
from mkoba.catalog.schema import ChargeSchema, ProductSchema, TierSchema, VersionSchema
from mkoba.money import Currency, format_amount

Found = list[tuple[Path, str]]
_LIMITS = ("transaction_max", "daily_max", "balance_max")


def check_version(version: VersionSchema, unit: Currency) -> Found:
    """Every problem in one version, in file order."""
    found: Found = []
    found += check_tiers(version.tiers, unit)
    found += check_voucher(version, unit)
    found += check_app_payments(version)
    for name, product in version.products.offered().items():
        found += check_product(("products", name), product, unit)
    return found


def check_tiers(tiers: dict[str, TierSchema], unit: Currency) -> Found:
    """Limits are positive, a transaction fits in a day, and tiers ascend (lowest first)."""
    found: Found = []
    previous: tuple[str, TierSchema] | None = None
    for name, tier in tiers.items():
        place: Path = ("tiers", name)
        for limit in _LIMITS:
            if getattr(tier, limit) == 0:
                found.append(((*place, limit), "must be above 0"))
        if tier.transaction_max > tier.daily_max:
            found.append(
                (
                    (*place, "transaction_max"),
                    f"{_major(tier.transaction_max, unit)} is above daily_max "
                    f"{_major(tier.daily_max, unit)}",
                )
            )
        if previous is not None:
            below_name, below = previous
            for limit in _LIMITS:
                if getattr(tier, limit) < getattr(below, limit):
                    found.append(
                        (
                            (*place, limit),
                            f"{_major(getattr(tier, limit), unit)} is below tier {below_name!r}'s "
                            f"{_major(getattr(below, limit), unit)}: list tiers lowest first",
                        )
                    )
        previous = (name, tier)
    return found


def check_app_payments(version: VersionSchema) -> Found:
    """Requests that are on live a day or more and allow a request; gifts live a day or more."""
    found: Found = []
    requests = version.requests
    if requests.enabled and requests.validity_days == 0:
        found.append((("requests", "validity_days"), "requests that are on need at least 1 day"))
    if requests.enabled and requests.open_max == 0:
        found.append((("requests", "open_max"), "requests that are on need open_max of 1 or more"))
    if version.products.buy_gift is not None and version.gifts.validity_days == 0:
        found.append((("gifts", "validity_days"), "gift vouchers need at least 1 day"))
    return found


def check_voucher(version: VersionSchema, unit: Currency) -> Found:
    """Vouchers are on exactly when sending to unregistered numbers is offered."""
    found: Found = []
    voucher = version.voucher
    product = version.products.send_unregistered
    if voucher.enabled and product is None:
        found.append(
            (("voucher", "enabled"), "vouchers are on but send_unregistered is not offered")
        )
    if product is not None and not voucher.enabled:
        found.append(
            (("products", "send_unregistered"), "offered, but vouchers are off (voucher.enabled)")
        )
    if voucher.enabled and voucher.validity_days == 0:
        found.append((("voucher", "validity_days"), "vouchers that are on need at least 1 day"))
    if product is not None and product.maximum > voucher.transaction_max:
        found.append(
            (
                ("products", "send_unregistered", "maximum"),
                f"{_major(product.maximum, unit)} is above voucher.transaction_max "
                f"{_major(voucher.transaction_max, unit)}",
            )
        )
    return found


def check_product(place: Path, product: ProductSchema, unit: Currency) -> Found:
    """A product has a range, a tariff, and charges that cover exactly that range."""
    if product.minimum == 0:
        return [((*place, "minimum"), "must be above 0")]
    if product.minimum > product.maximum:
        return [
            (
                (*place, "minimum"),
                f"{_major(product.minimum, unit)} is above maximum {_major(product.maximum, unit)}",
            )
        ]
    found: Found = []
    has_payers = product.customer is not None or product.business is not None
    if product.variants is None:
        if not has_payers:
            found.append(
                (place, "no tariff: give customer and/or business ('free' if nothing), or variants")
            )
        if product.default_variant is not None:
            found.append(((*place, "default_variant"), "given, but the product has no variants"))
    else:
        found += _check_variants(place, product, unit)
        if has_payers:
            found.append((place, "give either variants or customer/business, not both"))
    for payer in ("customer", "business", "commission"):
        charge = getattr(product, payer)
        if charge is not None:
            found += check_charge((*place, payer), charge, product, unit)
    return found


def _check_variants(place: Path, product: ProductSchema, unit: Currency) -> Found:
    assert product.variants is not None
    found: Found = []
    if not product.variants:
        found.append(((*place, "variants"), "list at least one variant"))
    for name, variant in product.variants.items():
        if variant.customer is None and variant.business is None:
            found.append(((*place, "variants", name), "no tariff: give customer and/or business"))
        for payer in ("customer", "business"):
            charge = getattr(variant, payer)
            if charge is not None:
                found += check_charge((*place, "variants", name, payer), charge, product, unit)
    if product.default_variant is not None and product.default_variant not in product.variants:
        found.append(
            (
                (*place, "default_variant"),
                f"{product.default_variant!r} is not one of the variants "
                f"({', '.join(product.variants)})",
            )
        )
    return found


def check_charge(
    place: Path, charge: ChargeSchema, product: ProductSchema, unit: Currency
) -> Found:
    """A charge is one kind (free, bands or rate), and its bands cover the product's range."""
    kinds = [charge.free, charge.bands is not None, charge.rate is not None]
    if sum(kinds) != 1:
        return [(place, "give exactly one of: free, bands, rate")]
    if charge.rate is None and (charge.cap is not None or charge.free_up_to is not None):
        return [(place, "cap and free_up_to go with a rate")]
    if charge.bands is not None:
        return check_bands((*place, "bands"), charge.bands, product, unit)
    return []


def check_bands(
    place: Path, bands: list[tuple[int, int, int]], product: ProductSchema, unit: Currency
) -> Found:
    """Bands ascend without gaps or overlaps from the minimum to the maximum.

    A band may start one major unit after the previous band's end (``101`` after
    ``100``, as sheets are written) or one minor unit after it (``100.01``).
    """
    if not bands:
        return [(place, "list at least one band")]
    found: Found = []
    for index, (lowest, highest, charge) in enumerate(bands):
        here: Path = (*place, index)
        if highest < lowest:
            found.append(
                (here, f"ends ({_major(highest, unit)}) before it starts ({_major(lowest, unit)})")
            )
        if charge > lowest:
            found.append(
                (
                    here,
                    f"charge {_major(charge, unit)} is more than the smallest amount in the band "
                    f"({_major(lowest, unit)})",
                )
            )
        if index == 0:
            if lowest != product.minimum:
                found.append(
                    (
                        here,
                        f"the first band starts at {_major(lowest, unit)} but the product's "
                        f"minimum is {_major(product.minimum, unit)}",
                    )
                )
            continue
        before_lowest, before_highest, _ = bands[index - 1]
        if lowest < before_lowest:
            found.append((here, "out of order: it starts before the band before it"))
        elif lowest <= before_highest:
            found.append((here, "overlaps the band before it"))
        elif lowest not in (before_highest + 1, before_highest + unit.minor_per_major):
            found.append(
                (
                    here,
                    f"leaves a gap after the band before it (which ends at "
                    f"{_major(before_highest, unit)})",
                )
            )
    last_highest = bands[-1][1]
    if last_highest != product.maximum:
        found.append(
            (
                (*place, len(bands) - 1),
                f"the last band ends at {_major(last_highest, unit)} but the product's maximum "
                f"is {_major(product.maximum, unit)}",
            )
        )
    return found


def _major(minor: int, unit: Currency) -> str:
    """An amount as the file writes it: ``250,000`` or ``12.50``."""
    if minor % unit.minor_per_major == 0:
        return f"{minor // unit.minor_per_major:,}"
    return format_amount(minor, unit, symbol=False)
