"""Tariffs, limits and agent commissions as versioned data with effective dates.

Each profile (``kenya``, ``campus``, or your own file) is a YAML file of
versions; a later version overrides only what changes. ``load_catalog`` reads
and checks one at start; ``catalog.at(when)`` gives the ``Profile`` in force
then, whose ``version`` id goes on every receipt. See docs/catalog.md.
"""

from __future__ import annotations

from mkoba.catalog.errors import CatalogError, Problem
from mkoba.catalog.loader import build_catalog, list_profiles, load_catalog
from mkoba.catalog.profile import Catalog, Profile, TierLimits, VoucherRules
from mkoba.catalog.schema import CHANNELS, PRODUCTS
from mkoba.catalog.tariff import Fee, ProductTariff

__all__ = [
    "CHANNELS",
    "PRODUCTS",
    "Catalog",
    "CatalogError",
    "Fee",
    "Problem",
    "ProductTariff",
    "Profile",
    "TierLimits",
    "VoucherRules",
    "build_catalog",
    "list_profiles",
    "load_catalog",
]
