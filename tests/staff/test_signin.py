"""Staff sign-in: both factors, each TOTP code once, a lockout, and no hint which was wrong."""

from __future__ import annotations

import pyotp
import pytest

from mkoba.staff.credentials import (
    WeakPassword,
    accept_totp,
    check_password,
    hash_password,
    new_totp_secret,
    password_matches,
    totp_now,
    totp_uri,
)
from mkoba.staff.signin import (
    Outcome,
    SignInState,
    failures_max,
    lockout_s,
    sign_in,
    step_up,
)

PASSWORD = "correct horse 42 battery"
NOW = 1_796_500_000.0


@pytest.fixture(scope="module")
def state() -> SignInState:
    return SignInState(hash_password(PASSWORD), new_totp_secret())


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1", "at least 12"),
        ("lettersonlyhere", "letters and digits"),
        ("123456789012", "letters and digits"),
        ("x1" * 200, "at most"),
    ],
)
def test_weak_passwords_are_refused(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword, match=reason):
        check_password(password)


def test_the_hash_is_argon2id_and_only_the_password_matches(state: SignInState) -> None:
    assert state.password_hash.startswith("$argon2id$")
    assert PASSWORD not in state.password_hash
    assert password_matches(state.password_hash, PASSWORD)
    assert not password_matches(state.password_hash, PASSWORD + " ")
    assert not password_matches("not a hash", PASSWORD)


def test_both_factors_sign_in_and_a_code_works_once(state: SignInState) -> None:
    code = totp_now(state.totp_secret, NOW)
    outcome, after = sign_in(state, PASSWORD, code, NOW)
    assert outcome is Outcome.SIGNED_IN
    assert after.last_step == int(NOW // 30)
    # The same code again, even within its 30 s, is refused.
    again, _ = sign_in(after, PASSWORD, code, NOW + 1)
    assert again is Outcome.WRONG
    # The next step's code is taken.
    later = totp_now(state.totp_secret, NOW + 30)
    assert sign_in(after, PASSWORD, later, NOW + 30)[0] is Outcome.SIGNED_IN


def test_a_code_one_step_off_is_taken_two_steps_off_is_not(state: SignInState) -> None:
    assert accept_totp(state.totp_secret, totp_now(state.totp_secret, NOW - 30), NOW, 0)
    assert accept_totp(state.totp_secret, totp_now(state.totp_secret, NOW + 30), NOW, 0)
    assert accept_totp(state.totp_secret, totp_now(state.totp_secret, NOW - 60), NOW, 0) is None
    assert accept_totp(state.totp_secret, "12345", NOW, 0) is None
    assert accept_totp(state.totp_secret, "１２３４５６", NOW, 0) is None


def test_either_wrong_factor_is_the_same_refusal(state: SignInState) -> None:
    code = totp_now(state.totp_secret, NOW)
    wrong_password = sign_in(state, "wrong password 1", code, NOW)
    wrong_code = sign_in(state, PASSWORD, "000000" if code != "000000" else "111111", NOW)
    assert wrong_password[0] is wrong_code[0] is Outcome.WRONG
    assert wrong_password[1].failures == wrong_code[1].failures == 1


def test_ten_failures_lock_for_thirty_minutes_whatever_is_tried(state: SignInState) -> None:
    current = state
    for attempt in range(failures_max):
        outcome, current = sign_in(current, "guess number 1", "000000", NOW + attempt)
    assert outcome is Outcome.LOCKED
    assert current.locked_until == NOW + failures_max - 1 + lockout_s
    # Locked: even both right factors are refused, and nothing is checked.
    right = totp_now(state.totp_secret, NOW + 60)
    assert sign_in(current, PASSWORD, right, NOW + 60)[0] is Outcome.LOCKED
    assert step_up(current, right, NOW + 60)[0] is False
    # After the lock, the right factors sign in again.
    after = NOW + failures_max + lockout_s
    code = totp_now(state.totp_secret, after)
    outcome, unlocked = sign_in(current, PASSWORD, code, after)
    assert outcome is Outcome.SIGNED_IN and unlocked.failures == 0


def test_a_disabled_account_never_signs_in(state: SignInState) -> None:
    code = totp_now(state.totp_secret, NOW)
    gone = state._replace(enabled=False)
    assert sign_in(gone, PASSWORD, code, NOW)[0] is Outcome.DISABLED


def test_a_step_up_takes_a_fresh_code_only(state: SignInState) -> None:
    code = totp_now(state.totp_secret, NOW)
    _, signed = sign_in(state, PASSWORD, code, NOW)
    assert step_up(signed, code, NOW + 5)[0] is False  # the sign-in's code, used
    fresh = totp_now(state.totp_secret, NOW + 30)
    ok, after = step_up(signed, fresh, NOW + 30)
    assert ok and after.last_step == int((NOW + 30) // 30)


def test_the_enrolment_uri_carries_the_seed_for_an_authenticator_app(state: SignInState) -> None:
    uri = totp_uri(state.totp_secret, "amina@campus")
    assert uri.startswith("otpauth://totp/mkoba:amina%40campus?")
    assert pyotp.parse_uri(uri).secret == state.totp_secret
    assert len(state.totp_secret) == 32
