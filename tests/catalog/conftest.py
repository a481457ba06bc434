"""Shared helpers: the shipped catalogs, moments in Nairobi time, shillings as cents."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from mkoba.catalog import Catalog, Profile, load_catalog

NAIROBI = ZoneInfo("Africa/Nairobi")


def ksh(shillings: int | str) -> int:
    """Minor units (cents) for an amount in shillings, as tariff sheets write it."""
    if isinstance(shillings, str):
        whole, _, cents = shillings.partition(".")
        return int(whole) * 100 + int(cents.ljust(2, "0"))
    return shillings * 100


def nairobi(*parts: int) -> datetime:
    """An aware datetime in Kenyan local time."""
    return datetime(*parts, tzinfo=NAIROBI)


@pytest.fixture(scope="session")
def kenya() -> Catalog:
    return load_catalog("kenya")


@pytest.fixture(scope="session")
def kenya_2021(kenya: Catalog) -> Profile:
    """The January 2021 tariff, in force on 2022-01-01."""
    return kenya.at(nairobi(2022, 1, 1))


@pytest.fixture(scope="session")
def kenya_now(kenya: Catalog) -> Profile:
    return kenya.current()


@pytest.fixture(scope="session")
def campus() -> Catalog:
    return load_catalog("campus")
