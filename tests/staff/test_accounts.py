"""Staff accounts in the store, on both stores, and the ``mkoba staff`` commands that make them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mkoba.cli import app
from mkoba.ledger import Store, open_store
from mkoba.parties import SecretKey
from mkoba.staff import accounts
from mkoba.staff.credentials import WeakPassword, totp_now
from mkoba.staff.policy import shipped
from mkoba.staff.signin import Outcome, sign_in

PASSWORD = "Campus Admin 2026"
NOW_NS = 1_796_500_000 * 10**9
NOW_S = NOW_NS / 1e9


@pytest.fixture
def key(tmp_path: Path) -> SecretKey:
    return accounts.staff_key(tmp_path / "keys")


def _create(
    store: Store, key: SecretKey, username: str = "amina", role: str = "sysadmin"
) -> tuple[accounts.StaffAccount, str]:
    return accounts.create(store, key, shipped(), username, "Amina  Otieno", role, PASSWORD, NOW_NS)


def test_an_account_signs_in_with_what_the_store_keeps(store: Store, key: SecretKey) -> None:
    made, secret = _create(store, key, "Amina")
    assert (made.username, made.name, made.role) == ("amina", "Amina Otieno", "sysadmin")
    found = accounts.by_username(store, key, " AMINA ")
    assert found is not None and found.state.totp_secret == secret
    rows = store.query("SELECT password_hash, totp_sealed FROM staff_accounts")
    assert PASSWORD not in str(rows) and secret not in str(rows)
    outcome, state = sign_in(found.state, PASSWORD, totp_now(secret, NOW_S), NOW_S)
    assert outcome is Outcome.SIGNED_IN
    accounts.save_state(store, found.id, state, NOW_NS)
    again = accounts.by_username(store, key, "amina")
    assert again is not None and again.state.last_step == state.last_step
    # The code just used is refused against the stored state.
    reused, _ = sign_in(again.state, PASSWORD, totp_now(secret, NOW_S), NOW_S + 1)
    assert reused is Outcome.WRONG


def test_bad_accounts_are_refused(store: Store, key: SecretKey) -> None:
    _create(store, key)
    with pytest.raises(accounts.StaffError, match="already has an account"):
        _create(store, key, "AMINA", "finance")
    with pytest.raises(accounts.StaffError, match="role: one of"):
        _create(store, key, "baraka", "janitor")
    with pytest.raises(accounts.StaffError, match="username"):
        _create(store, key, "bad name!")
    with pytest.raises(WeakPassword):
        accounts.create(store, key, shipped(), "chebet", "Chebet", "finance", "short", NOW_NS)
    assert [a.username for a in accounts.everyone(store, key)] == ["amina"]


def test_a_seed_opens_only_with_the_staff_key_and_on_its_own_row(
    store: Store, key: SecretKey, tmp_path: Path
) -> None:
    first, _ = _create(store, key, "amina")
    second, _ = _create(store, key, "baraka", "finance")
    other_key = accounts.staff_key(tmp_path / "other-keys")
    with pytest.raises(accounts.StaffError, match="does not open"):
        accounts.by_username(store, other_key, "amina")
    # Amina's sealed seed copied onto Baraka's row does not open there.
    (sealed,) = store.query("SELECT totp_sealed FROM staff_accounts WHERE id = ?", (first.id,))
    store.execute("UPDATE staff_accounts SET totp_sealed = ? WHERE id = ?", (sealed[0], second.id))
    with pytest.raises(accounts.StaffError, match="does not open"):
        accounts.by_username(store, key, "baraka")


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_command_line_makes_lists_and_gives_a_code(store_url: str, tmp_path: Path) -> None:
    opened = open_store(store_url, commit_process=False)
    opened.migrate()
    opened.close()
    where = ["--db", store_url, "--keys-dir", str(tmp_path / "keys")]
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "staff",
            "create",
            "amina",
            "--role",
            "sysadmin",
            "--name",
            "Amina Otieno",
            "--password-stdin",
            *where,
        ],
        input=PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.output
    assert "Staff account 1: amina (sysadmin)." in made.output
    assert "otpauth://totp/mkoba:amina?secret=" in made.output
    assert PASSWORD not in made.output
    listed = runner.invoke(app, ["staff", "list", *where])
    assert "amina" in listed.output and "active" in listed.output
    code = runner.invoke(app, ["staff", "totp", "amina", *where])
    assert code.exit_code == 0 and code.output.strip().isdigit()
    refused = runner.invoke(
        app,
        [
            "staff",
            "create",
            "bob",
            "--role",
            "finance",
            "--name",
            "Bob",
            "--password-stdin",
            *where,
        ],
        input="short\n",
    )
    assert refused.exit_code == 2 and "at least 12 characters" in refused.output
    missing = runner.invoke(app, ["staff", "totp", "nobody", *where])
    assert missing.exit_code == 2
