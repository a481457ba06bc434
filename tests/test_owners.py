"""One owner per table: SQL naming a table appears only in the package that owns it.

Everyone else goes through the owner's functions (``processor/history.py`` for
TranProc's records, ``outbox`` for the outbox...). The modules that still reach
into another package's table are listed with the tables they name; the list
only shrinks (a listed module that no longer needs its exception fails too).
"""

from __future__ import annotations

import re
from pathlib import Path

import mkoba

SOURCE = Path(mkoba.__file__).parent

# Table name (or prefix, ending in ``_``) → the package (path prefix) that owns it.
OWNERS = {
    "requests": "processor/",
    "receipts": "processor/",
    "statement_lines": "processor/",
    "daily_usage": "processor/",
    "pending_settlements": "processor/",
    "outbox": "outbox/",
    "parties": "parties/",
    "party_accounts": "parties/",
    "party_roles": "parties/",
    "pin_credentials": "parties/",
    "audit_log": "parties/",
    "ledger_": "ledger/",
    "daraja_": "channels/daraja/",
    "app_": "channels/app/",
    "vouchers": "products/",
    "reversals": "products/",
    "sms_parts": "channels/sms/",
    "staff_": "staff/",
    "bus_": "bus/",
    "risk_": "risk/",
}
# The benchmarks measure the stores themselves and keep their own naive baselines.
EXEMPT = ("bench/",)
# Known exceptions (issue 14), each with the tables it names today.
KNOWN: dict[str, set[str]] = {}
# SQL keywords are written in capitals here; prose ("into requests") is not SQL.
_SQL = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE(?: IF NOT EXISTS)?)\s+([a-z_]+)")


def owner(table: str) -> str | None:
    for name, package in OWNERS.items():
        if table == name or (name.endswith("_") and table.startswith(name)):
            return package
    return None


def trespasses() -> dict[str, set[str]]:
    """Per module, the tables its SQL names that another package owns."""
    found: dict[str, set[str]] = {}
    for path in SOURCE.rglob("*.py"):
        name = path.relative_to(SOURCE).as_posix()
        if name.startswith(EXEMPT):
            continue
        for table in _SQL.findall(path.read_text(encoding="utf-8")):
            package = owner(table)
            if package is not None and not name.startswith(package):
                found.setdefault(name, set()).add(table)
    return found


def test_sql_names_only_the_tables_its_package_owns() -> None:
    found = trespasses()
    new = {
        name: tables - KNOWN.get(name, set())
        for name, tables in found.items()
        if tables - KNOWN.get(name, set())
    }
    assert not new, f"go through the owning package instead: {new}"


def test_the_known_exceptions_only_shrink() -> None:
    found = trespasses()
    stale = {name: tables - found.get(name, set()) for name, tables in KNOWN.items()}
    stale = {name: tables for name, tables in stale.items() if tables}
    assert not stale, f"take these off KNOWN, they are gone: {stale}"


def test_the_gate_sees_a_trespass() -> None:
    assert owner("receipts") == "processor/"
    assert owner("ledger_transfers") == "ledger/"
    assert owner("sessions") is None
    assert _SQL.findall("SELECT 1 FROM receipts JOIN outbox AS o") == ["receipts", "outbox"]
