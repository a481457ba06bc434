"""``mkoba reconcile`` names the checkpoint as a person reads a time, in the profile's zone."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from mkoba.cli import app
from mkoba.ledger import Account, AccountFlags, AccountKind, LedgerWriter, Transfer, open_store

CAMPUS = Path(__file__).parents[2] / "src/mkoba/catalog/profiles/campus.yaml"


def _books(db: str) -> int:
    """A small ledger, checkpointed; the checkpoint (ns) it stored."""
    with LedgerWriter(open_store(db)) as writer:
        writer.create_accounts(
            [
                Account(1, 1, "KES", AccountKind.TRUST),
                Account(
                    2, 1, "KES", AccountKind.EMONEY, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
                ),
            ]
        ).result()
        writer.submit([Transfer(10, 1, 2, 5_000, 1)]).result()
        writer.checkpoint().result()
    with sqlite3.connect(db) as connection:
        (value,) = connection.execute(
            "SELECT value FROM ledger_meta WHERE key = 'checkpoint'"
        ).fetchone()
    return int(value)


@pytest.mark.parametrize(
    ("zone", "abbreviation"), [("Africa/Nairobi", "EAT"), ("Asia/Kolkata", "IST")]
)
def test_the_checkpoint_is_a_local_time_in_the_profile_zone(
    tmp_path: Path, zone: str, abbreviation: str
) -> None:
    db = str(tmp_path / "ledger.db")
    checkpoint = _books(db)
    profile = tmp_path / "elsewhere.yaml"
    profile.write_text(
        CAMPUS.read_text("utf-8").replace("timezone: Africa/Nairobi", f"timezone: {zone}"), "utf-8"
    )

    result = CliRunner().invoke(
        app, ["reconcile", "--db", db], env={"COLUMNS": "200", "MKOBA_PROFILE": str(profile)}
    )

    assert result.exit_code == 0, result.output
    local = dt.datetime.fromtimestamp(checkpoint // 10**9, ZoneInfo(zone))
    expected = f"balances checkpointed at {local:%Y-%m-%d %H:%M:%S} {abbreviation} ({zone})"
    assert expected in result.output
    assert not re.search(r"\d{16,}", result.output), "a raw nanosecond count is shown"


def test_an_unknown_profile_is_a_clear_error(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    _books(db)

    result = CliRunner().invoke(app, ["reconcile", "--db", db, "--profile", "atlantis"])

    assert result.exit_code == 2
    assert "atlantis" in result.output
