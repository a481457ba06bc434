"""Money in the native API's answers: named in the field, in both units.

TranProc's answers carry money as integers in minor units (cents). The native
API shows each such value twice, so nobody has to guess the unit: ``amount`` as
a string in the currency's major units (``"1000.00"``, exact, never a float) and
``amount_minor`` as the integer in cents, as requests may give it.
"""

from __future__ import annotations

from typing import Any

from mkoba.money import Currency, format_amount

# Keys of TranProc's ``data`` that hold money in minor units (mini statement entries
# hold ``amount`` and ``balance`` too). Everything else passes unchanged.
MONEY_KEYS = frozenset(
    {"amount", "balance", "commission", "fee", "incoming", "remaining", "reserved"}
)


def present(data: dict[str, Any], currency: Currency) -> dict[str, Any]:
    """``data`` with every money value in major units, and ``<key>_minor`` beside it."""
    shown: dict[str, Any] = {}
    for key, value in data.items():
        if key in MONEY_KEYS and type(value) is int:
            shown[key] = format_amount(value, currency, symbol=False).replace(",", "")
            shown[f"{key}_minor"] = value
        elif isinstance(value, dict):
            shown[key] = present(value, currency)
        elif isinstance(value, list):
            shown[key] = [
                present(item, currency) if isinstance(item, dict) else item for item in value
            ]
        else:
            shown[key] = value
    return shown
