"""The validation server's rows, as the core admits them from a validator process.

With ``app_validator = "apart"`` the validation server runs in its own process
(``--role validator``) and has the core's ledger writer commit its rows, as a
front does its channel's (``bus/rows.py``). The core commits only what that
process writes: a whole row of one of its tables (every column, keyed by the
table's key, each value of its column's type), inserted or upserted. Any other
table, a partial row or a plain update is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, get_type_hints

from mkoba.channels.app.validation import charge_rows, schema
from mkoba.ledger import Write, WriteMode

if TYPE_CHECKING:
    from mkoba.bus.rows import Admission

# Each table: its row's shape and its key (as ``schema.*_write`` write them).
_TABLES: dict[str, tuple[type[NamedTuple], str]] = {
    "app_enrolments": (schema.EnrolmentRow, "id"),
    "app_devices": (schema.DeviceRow, "id"),
    "app_tokens": (schema.TokenRow, "digest"),
    "app_paycodes": (charge_rows.PayCodeRow, "digest"),
    "app_charges": (charge_rows.ChargeRow, "id"),
    "app_paycode_tries": (charge_rows.TriesRow, "device_id"),
}
_MODES = (WriteMode.UPSERT, WriteMode.INSERT)


def validator_rows() -> Admission:
    """Per table of the validation server: the check the core's ``RowsServer`` runs."""
    assert set(_TABLES) == set(schema.OWN_TABLES), "every table of the validator, and no other"
    return {table: _whole_row(row, key) for table, (row, key) in _TABLES.items()}


def _whole_row(row: type[NamedTuple], key: str) -> Callable[[Write], Write | None]:
    columns = tuple(row._fields)
    hints = get_type_hints(row)
    types = tuple(hints[name] for name in columns)

    def check(write: Write) -> Write | None:
        if write.mode not in _MODES or write.columns != columns or tuple(write.keys) != (key,):
            return None
        for value, kind in zip(write.values, types, strict=True):
            # bool is an int to Python, never a column of these tables.
            if not isinstance(value, kind) or isinstance(value, bool):
                return None
        return write

    return check
