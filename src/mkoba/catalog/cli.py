"""``mkoba tariffs``: list the profiles, show a version's tables, check a profile file."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from mkoba.catalog.profile import Catalog, Profile
    from mkoba.catalog.tariff import Charge, Payers, ProductTariff

tariffs_app = typer.Typer(
    help="Tariffs, limits and agent commissions: the catalog (see docs/catalog.md).",
    no_args_is_help=True,
)


@tariffs_app.command("list")
def list_command() -> None:
    """Every shipped profile and its versions, with the dates they came into force."""
    from mkoba.catalog import CatalogError, list_profiles, load_catalog

    console = Console()
    table = Table(title="tariff profiles")
    for column in ("profile", "version", "in force from (local)", "ledger", "note"):
        table.add_column(column)
    for name in list_profiles():
        try:
            catalog = load_catalog(name)
        except CatalogError as error:
            _fail(str(error))
        current = catalog.current()
        for profile in catalog.versions:
            marker = " (current)" if profile is current else ""
            table.add_row(
                profile.name,
                profile.version + marker,
                _local(profile.effective_from, profile),
                str(profile.ledger),
                profile.note,
            )
    console.print(table)


@tariffs_app.command("show")
def show_command(
    profile_name: str = typer.Option(
        "kenya", "--profile", help="A shipped profile's name or a profile YAML file."
    ),
    at: str = typer.Option(
        "",
        "--at",
        help="A date (2022-01-01) or date-time, in the profile's local time; now if empty.",
    ),
    product: str = typer.Option(
        "", "--product", help="One product (send_money, ...); all if empty."
    ),
) -> None:
    """The version in force at a moment: its limits, rules, and fee and commission bands."""
    from mkoba.catalog import CatalogError, load_catalog

    try:
        catalog = load_catalog(profile_name)
        profile = _pick(catalog, at)
    except CatalogError as error:
        _fail(str(error))
    names = [product] if product else sorted(profile.products, key=_product_order)
    if product and product not in profile.products:
        offered = ", ".join(sorted(profile.products))
        _fail(f"{profile.version} does not offer {product!r}: {offered}")
    console = Console()
    console.print(
        f"{profile.version}: in force from {_local(profile.effective_from, profile)}; "
        f"{profile.currency.code}, ledger {profile.ledger}; fees include "
        f"{_percent(profile)} excise",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if not product:
        console.print(_limits_table(profile))
        console.print(_rules_table(profile))
    for name in names:
        tariff = profile.tariff(name)
        if tariff.payers is not None:
            console.print(_bands_table(profile, tariff, tariff.payers, name))
        for variant, payers in tariff.variants.items():
            default = " (default)" if variant == tariff.default_variant else ""
            console.print(_bands_table(profile, tariff, payers, f"{name}: {variant}{default}"))


@tariffs_app.command("check")
def check_command(
    path: Annotated[Path, typer.Argument(help="A profile YAML file to validate.")],
) -> None:
    """Validate a profile file; print every problem and exit 1 if it is not valid."""
    from mkoba.catalog import CatalogError, load_catalog

    try:
        catalog = load_catalog(path)
    except CatalogError as error:
        _fail(str(error))
    versions = ", ".join(profile.version for profile in catalog.versions)
    Console().print(f"ok: {path}: {versions}", markup=False, highlight=False, soft_wrap=True)


def _fail(message: str) -> NoReturn:
    Console(stderr=True).print(message, markup=False, highlight=False, soft_wrap=True, style="red")
    raise typer.Exit(1)


def _pick(catalog: Catalog, at: str) -> Profile:
    if not at:
        return catalog.current()
    zone = catalog.versions[0].timezone
    try:
        moment = datetime.fromisoformat(at) if len(at) > len("2022-01-01") else None
        if moment is None:
            moment = datetime.combine(date.fromisoformat(at), time(0))
    except ValueError:
        raise typer.BadParameter(f"not a date or date-time: {at!r}", param_hint="--at") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return catalog.at(moment)


def _limits_table(profile: Profile) -> Table:
    table = Table(title="limits per KYC tier, lowest first")
    for column in ("tier", "per transaction", "per day", "max balance"):
        table.add_column(column, justify="left" if column == "tier" else "right")
    for tier in profile.tiers:
        limits = profile.limits(tier)
        table.add_row(tier, *(_money(profile, value) for value in limits))
    return table


def _rules_table(profile: Profile) -> Table:
    table = Table(title="rules")
    table.add_column("rule")
    table.add_column("value")
    voucher = profile.voucher
    vouchers = (
        f"on: {voucher.validity.days} days, up to {_money(profile, voucher.transaction_max)}"
        if voucher.enabled
        else "off"
    )
    deadlines = ", ".join(
        f"{channel} {seconds}s" if seconds else f"{channel} none"
        for channel, seconds in profile.deadlines.items()
    )
    table.add_row("wrong PINs before lock", str(profile.pin_attempts_max))
    table.add_row("name checks a day", str(profile.name_lookups_per_day))
    table.add_row("vouchers (send to unregistered)", vouchers)
    hours = int(profile.reversal_window.total_seconds()) // 3600
    table.add_row("reversal window", f"{hours} hours")
    table.add_row("response deadlines", deadlines)
    return table


def _bands_table(profile: Profile, tariff: ProductTariff, payers: Payers, title: str) -> Table:
    table = Table(title=title)
    table.add_column("amount", no_wrap=True)
    for column in ("customer pays", "business pays", "agent commission"):
        table.add_column(column, justify="right", no_wrap=True)
    tops = _segment_tops(tariff, (payers.customer, payers.business, tariff.commission))
    lowest = tariff.minimum
    for top in tops:
        table.add_row(
            f"{_major(profile, lowest)} - {_major(profile, top)}",
            _charge_text(profile, payers.customer, top, "free"),
            _charge_text(profile, payers.business, top, "free"),
            _charge_text(profile, tariff.commission, top, "-"),
        )
        lowest = top + profile.currency.minor_per_major
    return table


def _segment_tops(tariff: ProductTariff, charges: tuple[Charge, ...]) -> list[int]:
    """The ends of the amount ranges over which every charge is one figure or one rate."""
    from mkoba.catalog.tariff import BandCharge, RateCharge

    tops = {tariff.maximum}
    for charge in charges:
        if isinstance(charge, BandCharge):
            tops.update(band.highest for band in charge.bands)
        if isinstance(charge, RateCharge) and tariff.minimum <= charge.free_up_to < tariff.maximum:
            tops.add(charge.free_up_to)
    return sorted(tops)


def _charge_text(profile: Profile, charge: Charge, top: int, zero: str) -> str:
    from mkoba.catalog.tariff import RateCharge

    if isinstance(charge, RateCharge) and top > charge.free_up_to:
        rate = _rate(charge.rate)
        return rate if charge.cap is None else f"{rate}, at most {_money(profile, charge.cap)}"
    value = charge.of(top)
    return _money(profile, value) if value else zero


def _money(profile: Profile, minor: int) -> str:
    from mkoba.money import format_amount

    return format_amount(minor, profile.currency)


def _major(profile: Profile, minor: int) -> str:
    from mkoba.money import format_amount

    per_major = profile.currency.minor_per_major
    if minor % per_major == 0:
        return f"{minor // per_major:,}"
    return format_amount(minor, profile.currency, symbol=False)


def _percent(profile: Profile) -> str:
    return _rate(profile.excise_rate)


def _rate(rate: Fraction) -> str:
    """``0.5%`` for Fraction(1, 200), in exact decimal arithmetic."""
    percent = Decimal(rate.numerator) * 100 / Decimal(rate.denominator)
    return f"{percent.normalize():f}%"


def _local(moment: datetime, profile: Profile) -> str:
    return moment.astimezone(profile.timezone).strftime("%Y-%m-%d %H:%M %Z")


def _product_order(name: str) -> int:
    from mkoba.catalog.schema import PRODUCTS

    return PRODUCTS.index(name)
