"""Per-SIM keys: from the master key file, one per SIM, version and direction, never shown."""

from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path

import pytest

from mkoba.simcard.keys import (
    MASTER_KEY_FILE,
    Direction,
    derive_sim_key,
    load_master_key,
)
from tests.channels.sim.sims import ICCID, MASTER, OTHER_ICCID


def rfc5869(master: bytes, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 for 32 bytes, written from RFC 5869 with hmac alone."""
    prk = hmac.new(salt, master, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def test_the_key_is_hkdf_of_the_master_salted_with_the_iccid() -> None:
    key = derive_sim_key(MASTER, ICCID, 1, Direction.MO)
    expected = rfc5869(MASTER.reveal(), ICCID.encode(), b"mkoba-sim-aead-v1|MO|v1")
    assert key.reveal() == expected
    assert key.reveal().hex() == (
        "c16314e7a67837cdbe0f8ebf8d3dbc1319546ae40b3d62a9fe00a528b8fdd0b4"
    )


def test_each_sim_version_and_direction_has_its_own_key() -> None:
    keys = {
        derive_sim_key(MASTER, iccid, version, direction).reveal()
        for iccid in (ICCID, OTHER_ICCID)
        for version in (1, 2, 15)
        for direction in Direction
    }
    assert len(keys) == 2 * 3 * 2


def test_the_master_key_lives_in_a_private_file_and_is_kept(tmp_path: Path) -> None:
    first = load_master_key(tmp_path)
    path = tmp_path / MASTER_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key(tmp_path).reveal() == first.reveal()
    sim = derive_sim_key(first, ICCID, 1, Direction.MO)
    assert derive_sim_key(load_master_key(tmp_path), ICCID, 1, Direction.MO).reveal() == (
        sim.reveal()
    )


def test_a_key_is_never_shown() -> None:
    key = derive_sim_key(MASTER, ICCID, 1, Direction.MT)
    for text in (repr(key), str(key), f"{key}"):
        assert key.reveal().hex() not in text
        assert "secure" in text


@pytest.mark.parametrize(
    "iccid",
    ["8925401234567890123", "89254012345678901235", "8925401234567890123a", "892540123456"],
)
def test_an_iccid_that_is_none_is_refused(iccid: str) -> None:
    with pytest.raises(ValueError):
        derive_sim_key(MASTER, iccid, 1, Direction.MO)


@pytest.mark.parametrize("version", [0, 16, -1])
def test_a_key_version_outside_the_nibble_is_refused(version: int) -> None:
    with pytest.raises(ValueError, match="key version"):
        derive_sim_key(MASTER, ICCID, version, Direction.MO)
