"""Enrolment tokens in the store, on both stores: kept hashed, single use, 72 hours, newest only."""

from __future__ import annotations

from pathlib import Path

import pytest

from mkoba.ledger import Store, queries
from mkoba.parties import SecretKey
from mkoba.staff import accounts, enrolment
from mkoba.staff.credentials import WeakPassword, totp_now
from mkoba.staff.policy import shipped
from mkoba.staff.signin import Outcome, sign_in

NOW_NS = 1_796_500_000 * 10**9
NOW_S = NOW_NS / 1e9
PASSWORD = "Chosen by me 2026"


@pytest.fixture
def key(tmp_path: Path) -> SecretKey:
    return accounts.staff_key(tmp_path / "keys")


def _unenrolled(store: Store, username: str = "achieng") -> accounts.StaffAccount:
    made, row = accounts.prepare_unenrolled(
        shipped(), accounts.next_id(store), username, "Achieng O", "care_l1", NOW_NS
    )
    queries.execute_write(store, row)
    return made


def _issue(store: Store, key: SecretKey, staff_id: int, now: int = NOW_NS) -> str:
    token, row = enrolment.issue(key, enrolment.next_id(store), staff_id, now)
    queries.execute_write(store, row)
    return token


def _commit(store: Store, writes: list[object]) -> None:
    for write in writes:
        queries.execute_write(store, write)  # type: ignore[arg-type]


def test_an_account_made_without_credentials_cannot_sign_in(store: Store, key: SecretKey) -> None:
    made = _unenrolled(store)
    found = accounts.by_id(store, key, made.id)
    assert found is not None and not found.state.enrolled
    # No password and no seed: nothing anyone types signs in, not even an empty-key code.
    outcome, _ = sign_in(found.state, "", "000000", NOW_S)
    assert outcome is Outcome.WRONG
    member = accounts.member(store, "achieng")
    assert member is not None and not member.enrolled and member.enabled


def test_a_token_is_kept_only_as_its_digest_and_enrols_once(store: Store, key: SecretKey) -> None:
    made = _unenrolled(store)
    token = _issue(store, key, made.id)
    rows = store.query("SELECT digest, seed_sealed FROM staff_enrolments")
    assert token not in str(rows) and rows[0][0] == enrolment.digest(token)
    found = enrolment.find(store, key, token, NOW_NS + 1)
    assert found is not None and found.staff_id == made.id
    assert found.seed not in str(rows)
    code = totp_now(found.seed, NOW_S)
    with pytest.raises(enrolment.NotEnrolled):
        enrolment.complete(
            key, found, PASSWORD, "000000" if code != "000000" else "111111", NOW_S, NOW_NS
        )
    with pytest.raises(WeakPassword):
        enrolment.complete(key, found, "short1", code, NOW_S, NOW_NS)
    _commit(store, enrolment.complete(key, found, PASSWORD, code, NOW_S, NOW_NS))
    assert enrolment.find(store, key, token, NOW_NS + 2) is None  # spent
    account = accounts.by_id(store, key, made.id)
    assert account is not None and account.state.totp_secret == found.seed
    # The code that enrolled is spent too; the next step's code signs in.
    outcome, _ = sign_in(account.state, PASSWORD, code, NOW_S)
    assert outcome is Outcome.WRONG
    outcome, _ = sign_in(account.state, PASSWORD, totp_now(found.seed, NOW_S + 30), NOW_S + 30)
    assert outcome is Outcome.SIGNED_IN


def test_a_token_expires_after_72_hours_and_a_newer_one_ends_it(
    store: Store, key: SecretKey
) -> None:
    made = _unenrolled(store)
    first = _issue(store, key, made.id)
    assert enrolment.find(store, key, first, NOW_NS + (72 * 3600 - 1) * 10**9) is not None
    assert enrolment.find(store, key, first, NOW_NS + 72 * 3600 * 10**9) is None
    second = _issue(store, key, made.id, NOW_NS + 10)
    assert enrolment.find(store, key, first, NOW_NS + 20) is None
    assert enrolment.find(store, key, second, NOW_NS + 20) is not None
    assert enrolment.find(store, key, "not-a-token", NOW_NS) is None
    assert enrolment.find(store, key, "x" * 500, NOW_NS) is None
