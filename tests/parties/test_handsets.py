"""Handset credentials: one number's opens that number only, and never shows itself."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest

from mkoba.parties.handsets import KEY_FILE, HandsetKey
from mkoba.phone.pairing import CREDENTIAL_ENV, PairingError, pair

OWNER, OTHER = "254712000001", "254712000002"


def test_a_credential_proves_its_own_number_and_no_other(tmp_path: Path) -> None:
    key = HandsetKey.load_or_create(tmp_path)
    mine = key.credential(OWNER).reveal()
    assert key.verify(mine) == OWNER
    assert key.caller(f"Handset {mine}") == OWNER
    assert key.caller(f"handset  {mine} ") == OWNER  # the scheme is case-blind, as HTTP's are
    mac = mine.partition(".")[2]
    # Another number in front of this MAC, a changed MAC, another server's key: nobody.
    assert key.verify(f"{OTHER}.{mac}") is None
    assert key.verify(f"{OWNER}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}") is None
    assert HandsetKey.load_or_create(tmp_path / "elsewhere").verify(mine) is None
    for header in (None, "", mine, f"Bearer {mine}", f"Basic {mine}", "Handset ", "Handset x.y"):
        assert key.caller(header) is None, header
    assert key.caller(f"Handset {OWNER}") is None  # a number alone is no credential
    with pytest.raises(ValueError, match="canonical"):
        key.credential("0712000001 ")


def test_the_key_stays_put_across_starts_and_a_phone_never_makes_one(tmp_path: Path) -> None:
    first = HandsetKey.load_or_create(tmp_path).credential(OWNER).reveal()
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert HandsetKey.load_or_create(tmp_path).credential(OWNER).reveal() == first
    assert pair(OWNER, tmp_path, {}).reveal() == first
    empty = tmp_path / "empty"
    with pytest.raises(PairingError, match="--keys-dir"):
        pair(OWNER, empty, {})
    assert not (empty / KEY_FILE).exists()


def test_a_credential_given_to_a_phone_elsewhere_must_be_for_its_number(tmp_path: Path) -> None:
    token = HandsetKey.load_or_create(tmp_path).credential(OWNER).reveal()
    assert pair(OWNER, tmp_path / "none", {CREDENTIAL_ENV: token}).reveal() == token
    with pytest.raises(PairingError, match="not a credential for") as refused:
        pair(OTHER, tmp_path / "none", {CREDENTIAL_ENV: token})
    assert token not in str(refused.value)


def test_credentials_and_keys_never_print_themselves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = HandsetKey.load_or_create(tmp_path)
    credential = key.credential(OWNER)
    token = credential.reveal()
    mac = token.partition(".")[2]
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("paired %s with %r", credential, key)
    shown = [repr(credential), str(credential), f"{credential}", repr(key), caplog.text]
    assert all(mac not in text for text in shown)
    assert OWNER in repr(credential)
    for secret in (key, credential):
        with pytest.raises(TypeError):
            pickle.dumps(secret)
