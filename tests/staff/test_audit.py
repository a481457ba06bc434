"""The staff audit trail: a keyed hash chain that names the first entry anyone changed."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mkoba.cli import app
from mkoba.ledger import Store, Write, open_store, queries
from mkoba.parties import SecretKey
from mkoba.staff import audit

NOW = 1_796_500_000 * 10**9


@pytest.fixture
def key(tmp_path: Path) -> SecretKey:
    return audit.audit_key(tmp_path / "keys")


def _trail(store: Store, key: SecretKey) -> audit.Trail:
    async def submit(writes: Sequence[Write]) -> None:
        for write in writes:
            await asyncio.to_thread(queries.execute_write, store, write)

    return audit.Trail(store, submit, key)


def _fill(store: Store, key: SecretKey, count: int) -> list[audit.Entry]:
    trail = _trail(store, key)

    async def run() -> list[audit.Entry]:
        return [
            await trail.append(
                NOW + index,
                "sign_in",
                "wrong" if index % 3 else "signed_in",
                actor_id=index % 4,
                actor=f"staff{index % 4}",
                role="care_l1",
                origin="10.0.0.7",
                detail={"failures": index % 3, "note": "ünïcode"},
            )
            for index in range(count)
        ]

    return asyncio.run(run())


def test_an_untouched_trail_holds_and_its_head_is_the_last_entry(
    store: Store, key: SecretKey
) -> None:
    entries = _fill(store, key, 25)
    assert [e.seq for e in entries] == list(range(1, 26))
    assert entries[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert audit.verify(store, key, batch=7) == (25, None)
    assert audit.head(store) == audit.Head(25, entries[-1].hash)


@pytest.mark.parametrize(
    ("tamper", "seq", "reason"),
    [
        ("UPDATE staff_audit SET outcome = 'signed_in' WHERE seq = 8", 8, "content"),
        ("UPDATE staff_audit SET detail = '{}' WHERE seq = 3", 3, "content"),
        ("DELETE FROM staff_audit WHERE seq = 5", 5, "missing"),
        ("UPDATE staff_audit SET hash = 'x' WHERE seq = 10", 10, "content"),
    ],
)
def test_any_change_is_named_at_its_entry(
    store: Store, key: SecretKey, tamper: str, seq: int, reason: str
) -> None:
    _fill(store, key, 12)
    store.execute(tamper)
    checked, broken = audit.verify(store, key)
    assert broken is not None and broken.seq == seq and reason in broken.reason
    assert checked == seq - 1


def test_a_forger_without_the_key_cannot_make_it_agree(
    store: Store, key: SecretKey, tmp_path: Path
) -> None:
    # Someone with the table but not the key rewrites entry 4 and re-chains the rest
    # with a key of their own: the first rewritten entry is named.
    _fill(store, key, 6)
    forger = audit.audit_key(tmp_path / "forger")
    rows = store.query("SELECT * FROM staff_audit ORDER BY seq")
    prev = rows[2][-1]
    for row in rows[3:]:
        entry = audit.Entry(*row)._replace(prev_hash=prev, outcome="signed_in")
        entry = entry._replace(hash=audit.chain_hash(forger, prev, entry))
        store.execute(
            "UPDATE staff_audit SET outcome = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (entry.outcome, entry.prev_hash, entry.hash, entry.seq),
        )
        prev = entry.hash
    assert audit.verify(store, key)[1] == audit.Broken(4, "its content does not match its hash")


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_mkoba_audit_verify_and_head(store_url: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    with open_store(store_url, commit_process=False) as opened:
        opened.migrate()
        opened.migrate_script(audit.MIGRATION, audit.SCHEMA)
        entries = _fill(opened, audit.audit_key(keys), 4)
    runner = CliRunner()
    where = ["--db", store_url, "--keys-dir", str(keys)]
    held = runner.invoke(app, ["audit", "verify", *where])
    assert held.exit_code == 0, held.output
    assert f"4 entries; the chain holds. head 4 {entries[-1].hash}" in held.output
    head = runner.invoke(app, ["audit", "head", "--db", store_url])
    assert head.output.strip() == f"4 {entries[-1].hash}"
    with open_store(store_url, commit_process=False) as opened:
        opened.execute("UPDATE staff_audit SET actor = 'someone' WHERE seq = 2")
    broken = runner.invoke(app, ["audit", "verify", *where])
    assert broken.exit_code == 1
    assert "broken at entry 2" in broken.output
