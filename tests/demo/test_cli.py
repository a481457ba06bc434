"""``mkoba demo``: the walk keeps to a store of its own; ``demo parties`` lists the seed's world."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mkoba.cli import app
from mkoba.demo import sandbox, seed
from mkoba.ledger import Account, AccountKind, LedgerWriter, Transfer, open_store


def _server_store(path: Path) -> str:
    """A store as a server leaves it: its own accounts (ids the walk also uses) and money."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with LedgerWriter(open_store(str(path))) as writer:
        writer.create_accounts(
            [Account(1, 7, "KES", AccountKind.TRUST), Account(99, 7, "KES", AccountKind.EMONEY)]
        ).result()
        writer.submit([Transfer(500, 1, 99, 12_345, 7)]).result()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _walk(*args: str, env: dict[str, str | None]) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["demo", *args], env={"COLUMNS": "200", **env})
    return result.exit_code, result.output


@pytest.mark.parametrize("told", ["MKOBA_DB", "default path"])
def test_the_walk_leaves_the_server_store_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, told: str
) -> None:
    monkeypatch.chdir(tmp_path)
    server = tmp_path / ("elsewhere/server.db" if told == "MKOBA_DB" else "var/mkoba.db")
    before = _server_store(server)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    code, output = _walk(env={"MKOBA_DB": str(server) if told == "MKOBA_DB" else None})

    assert code == 0, output
    assert "reconcile replay: ok" in output
    assert "WRONG" not in output
    assert hashlib.sha256(server.read_bytes()).hexdigest() == before
    assert list(scratch.iterdir()) == [], "the walk's temporary store was left behind"


def test_the_walk_refuses_the_server_store_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = tmp_path / "server.db"
    before = _server_store(server)

    code, output = _walk("--db", str(server), env={"MKOBA_DB": str(server)})

    assert code == 2
    assert "server's store" in output
    assert hashlib.sha256(server.read_bytes()).hexdigest() == before


def test_the_walk_refuses_a_store_with_accounts_of_its_own(tmp_path: Path) -> None:
    other = tmp_path / "books.db"
    before = _server_store(other)

    code, output = _walk("--db", str(other), env={"MKOBA_DB": None})

    assert code == 2
    assert "accounts of its own" in output
    assert hashlib.sha256(other.read_bytes()).hexdigest() == before


def test_the_walk_keeps_a_store_it_is_given(tmp_path: Path) -> None:
    mine = tmp_path / "walk.db"

    first, output = _walk("--db", str(mine), env={"MKOBA_DB": None})
    again, output_again = _walk("--db", str(mine), env={"MKOBA_DB": None})

    assert (first, again) == (0, 0), output + output_again
    assert mine.exists()
    assert "WRONG" not in output + output_again


def _lines(env: dict[str, str | None] | None = None) -> list[str]:
    result = CliRunner().invoke(app, ["demo", "parties"], env={"COLUMNS": "250", **(env or {})})
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def _line_with(lines: list[str], *parts: str) -> str:
    found = [line for line in lines if all(part in line for part in parts)]
    assert len(found) == 1, (parts, found)
    return found[0]


def test_parties_lists_every_seeded_business_with_its_numbers_and_pin() -> None:
    lines = _lines()
    people = seed.businesses(range(1, 10**6), now=0)

    assert len(people) > 20
    for seeded in people:
        party = seeded.party
        wanted = [party.name, party.msisdn or "", party.number or "", seeded.pin or ""]
        line = _line_with(lines, *(part for part in wanted if part))
        for role, _ in seeded.roles:
            assert role.value.replace("_", " ") in line


def test_parties_lists_the_customers_and_who_reads_swahili() -> None:
    lines = _lines()
    crowd = seed.customers(1, seed.CUSTOMERS, tier="", now=0)
    first_swahili = next(p.party.msisdn for p in crowd if p.party.language == "sw")
    assert first_swahili is not None

    text = "\n".join(lines)
    line = _line_with(lines, crowd[0].party.msisdn or "", seed.PINS["customer"])
    assert "customer" in line
    assert crowd[-1].party.msisdn in text
    assert first_swahili in text


def test_parties_lists_the_daraja_sandbox() -> None:
    lines = _lines({"MKOBA_DARAJA_SANDBOX_PIN": "2580"})

    for business in sandbox.BUSINESSES:
        _line_with(lines, business.number, business.name)
    _line_with(lines, sandbox.TAX_AUTHORITY, sandbox.TAX_AUTHORITY_NAME)
    _line_with(lines, sandbox.TEST_MSISDN, sandbox.TEST_CUSTOMER_NAME, "2580")


def test_the_readme_table_names_every_seeded_number_and_pin() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
    table = readme[readme.index("| who | phone | number | PIN |") :]
    table = table[: table.index("\n\n")]

    for seeded in seed.businesses(range(1, 10**6), now=0):
        for part in (seeded.party.msisdn, seeded.party.number):
            if part:
                assert part in table, part
        if seeded.pin:
            assert f"`{seeded.pin}`" in table
    assert sandbox.TEST_MSISDN in table
    assert f"{seed.FIRST_CUSTOMER + seed.CUSTOMERS - 1}" in table
