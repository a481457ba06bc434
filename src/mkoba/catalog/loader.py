"""Read a profile file, merge each version over the one before, check it, build a Catalog.

Loading is all-or-nothing: any problem raises ``CatalogError`` naming the file
and the place in it. Load once at start; the result is immutable.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml  # type: ignore[import-untyped]
from pydantic import BaseModel, ValidationError

from mkoba.catalog import errors
from mkoba.catalog.checks import check_version
from mkoba.catalog.errors import CatalogError, Problem
from mkoba.catalog.profile import (
    Catalog,
    GiftRules,
    Profile,
    RequestRules,
    TierLimits,
    VoucherRules,
)
from mkoba.catalog.schema import (
    CHANNELS,
    ChargeSchema,
    FileSchema,
    ProductSchema,
    VersionSchema,
)
from mkoba.catalog.tariff import (
    FREE,
    Band,
    BandCharge,
    Charge,
    Payers,
    ProductTariff,
    RateCharge,
)
from mkoba.money import Currency, currency

SHIPPED = "profiles"
_NOT_INHERITED = ("effective_from", "note")
_REPLACED_WHOLE = ("customer", "business", "commission")
"""Charges are not merged key by key: a later version's charge replaces the earlier one."""

Model = TypeVar("Model", bound=BaseModel)


def list_profiles() -> list[str]:
    """The names of the profiles shipped with mkoba, sorted."""
    folder = resources.files("mkoba.catalog").joinpath(SHIPPED)
    names = [entry.name for entry in folder.iterdir() if entry.name.endswith(".yaml")]
    return sorted(name.removesuffix(".yaml") for name in names)


def load_catalog(name_or_path: str | Path) -> Catalog:
    """A shipped profile by name (``"kenya"``) or a profile file by path, validated."""
    source, text = _read(name_or_path)
    return build_catalog(source, parse_yaml(source, text))


def _read(name_or_path: str | Path) -> tuple[str, str]:
    text_form = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text_form or text_form.endswith((".yaml", ".yml")):
        path = Path(name_or_path)
        try:
            return str(path), path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CatalogError.single(str(path), f"cannot read: {error}") from None
    shipped = list_profiles()
    if text_form not in shipped:
        raise CatalogError.single(
            text_form, f"no shipped profile of that name (shipped: {', '.join(shipped)})"
        )
    entry = resources.files("mkoba.catalog").joinpath(SHIPPED, f"{text_form}.yaml")
    return f"{text_form}.yaml", entry.read_text(encoding="utf-8")


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML's safe loader, refusing duplicate keys and integers that are not plain decimal."""


def _mapping(loader: _Loader, node: Any, deep: bool = False) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str | int | bool | date | None):
            continue  # construct_mapping below reports a key that cannot be hashed
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return dict(loader.construct_mapping(node, deep=deep))


def _integer(loader: _Loader, node: Any) -> int:
    text = str(loader.construct_scalar(node))
    digits = text.lstrip("+-").replace("_", "")
    if not digits.isdigit() or (len(digits) > 1 and digits.startswith("0")):
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"write integers in plain decimal, not {text!r} (YAML reads 015 as octal 13)",
            node.start_mark,
        )
    return int(text.replace("_", ""))


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:int", _integer)


def parse_yaml(source: str, text: str) -> object:
    """The document in ``text``; ``CatalogError`` with line and column for bad YAML."""
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise CatalogError.single(source, f"{where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise CatalogError.single(source, f"not YAML: {error}") from None
    finally:
        loader.dispose()


def build_catalog(source: str, document: object) -> Catalog:
    """A checked ``Catalog`` from a parsed file; ``source`` names the file in errors."""
    if not isinstance(document, dict):
        raise CatalogError.single(
            source,
            "a profile file is a mapping: name, currency, timezone, ledger, country, versions",
        )
    header = _validate(FileSchema, document, source, (), None)
    unit = _currency(source, header.currency)
    zone = _zone(source, header.timezone)
    profiles: list[Profile] = []
    merged: dict[str, Any] = {}
    for index, raw in enumerate(header.versions):
        place: errors.Path = ("versions", index)
        merged = merge_version(merged, raw)
        version = _validate(VersionSchema, merged, source, place, {"currency": unit})
        found = check_version(version, unit)
        if found:
            raise CatalogError([Problem(source, (*place, *path), text) for path, text in found])
        effective = _utc(version.effective_from, zone)
        if profiles and effective <= profiles[-1].effective_from:
            raise CatalogError.single(
                source,
                f"{_local(effective, zone)} is not later than versions[{index - 1}]'s "
                f"{_local(profiles[-1].effective_from, zone)}: versions go oldest first",
                (*place, "effective_from"),
            )
        profiles.append(_profile(header, unit, zone, version, effective))
    return Catalog(header.name, source, tuple(profiles))


def merge_version(previous: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` laid over ``previous``: the version a later entry in the file stands for."""
    base = {key: value for key, value in previous.items() if key not in _NOT_INHERITED}
    return deep_merge(base, raw)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; ``null`` removes a key; anything else replaces.

    Lists (bands) and charges are replaced whole, so a version never ends up with
    half of an old table. Neither input is changed.
    """
    result = dict(base)
    for key, value in override.items():
        if value is None:
            result.pop(key, None)
        elif (
            isinstance(value, dict)
            and isinstance(result.get(key), dict)
            and key not in _REPLACED_WHOLE
        ):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def _validate(
    model: type[Model],
    data: object,
    source: str,
    place: errors.Path,
    context: dict[str, Any] | None,
) -> Model:
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        problems = [_problem(source, place, detail) for detail in error.errors(include_url=False)]
        raise CatalogError(list(dict.fromkeys(problems))) from None


def _problem(source: str, place: errors.Path, detail: Any) -> Problem:
    location = [part for part in detail["loc"] if isinstance(part, str | int)]
    message = str(detail["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    context = detail.get("ctx") or {}
    kind = detail["type"]
    if kind == "missing":
        message = "required, but missing"
    elif kind == "greater_than_equal":
        message = f"must be at least {context['ge']}, not {detail['input']!r}"
    elif kind == "less_than_equal":
        message = f"must be at most {context['le']}, not {detail['input']!r}"
    elif kind in ("int_type", "int_parsing"):
        message = f"must be a plain integer such as 10, not {detail['input']!r}"
    if location and location[-1] == "[key]":
        location.pop()
        message = f"bad name: {message}"
    return Problem(source, (*place, *location), message)


def _currency(source: str, code: str) -> Currency:
    try:
        return currency(code)
    except ValueError as error:
        raise CatalogError.single(source, str(error), ("currency",)) from None


def _zone(source: str, name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CatalogError.single(source, f"unknown time zone {name!r}", ("timezone",)) from None


def _utc(moment: date | datetime, zone: ZoneInfo) -> datetime:
    """A date means 00:00 local time in the profile's zone; a naive datetime is local too."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(0))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat(sep=" ", timespec="minutes")


def _version_id(name: str, effective: datetime, zone: ZoneInfo) -> str:
    local = effective.astimezone(zone)
    if local.time() == time(0):
        return f"{name}@{local.date().isoformat()}"
    return f"{name}@{local.replace(tzinfo=None).isoformat(timespec='minutes')}"


def _profile(
    header: FileSchema, unit: Currency, zone: ZoneInfo, version: VersionSchema, effective: datetime
) -> Profile:
    tiers = {
        name: TierLimits(tier.transaction_max, tier.daily_max, tier.balance_max)
        for name, tier in version.tiers.items()
    }
    voucher = version.voucher
    requests = version.requests
    tariffs = {name: _tariff(name, spec) for name, spec in version.products.offered().items()}
    return Profile(
        name=header.name,
        version=_version_id(header.name, effective, zone),
        effective_from=effective,
        timezone=zone,
        currency=unit,
        ledger=header.ledger,
        country=header.country,
        note=version.note,
        excise_rate=version.excise_rate,
        tier_limits=MappingProxyType(tiers),
        pin_attempts_max=version.pin_attempts_max,
        name_lookups_per_day=version.name_lookups_per_day,
        voucher=VoucherRules(
            voucher.enabled, timedelta(days=voucher.validity_days), voucher.transaction_max
        ),
        deadlines=MappingProxyType({c: getattr(version.deadlines_s, c) for c in CHANNELS}),
        reversal_window=timedelta(hours=version.reversal_window_hours),
        tariffs=MappingProxyType(tariffs),
        requests=RequestRules(
            requests.enabled,
            timedelta(days=requests.validity_days),
            requests.open_max,
            requests.friends_max,
            timedelta(hours=requests.reminder_interval_hours),
            requests.reminders_max,
        ),
        gifts=GiftRules(timedelta(days=version.gifts.validity_days)),
        risk=version.risk,
    )


def _tariff(name: str, spec: ProductSchema) -> ProductTariff:
    payers = None
    if spec.variants is None:
        payers = Payers(_charge(spec.customer), _charge(spec.business))
    variants = {
        variant: Payers(_charge(charges.customer), _charge(charges.business))
        for variant, charges in (spec.variants or {}).items()
    }
    return ProductTariff(
        name=name,
        minimum=spec.minimum,
        maximum=spec.maximum,
        payers=payers,
        variants=MappingProxyType(variants),
        default_variant=spec.default_variant,
        commission=_charge(spec.commission),
    )


def _charge(spec: ChargeSchema | None) -> Charge:
    if spec is None or spec.free:
        return FREE
    if spec.bands is not None:
        return BandCharge(tuple(Band(*row) for row in spec.bands))
    assert spec.rate is not None, "checked: a charge is free, bands or a rate"
    return RateCharge(spec.rate, spec.cap, spec.free_up_to or 0)
