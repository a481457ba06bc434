"""``mkoba reports ctr|str`` on a store: the profile's threshold, XML checked, CSV, refusals."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mkoba.cli import app
from tests.risk.reports.test_ctr import deposit, local, week_two_back
from tests.world import KSH, World

pytestmark = pytest.mark.anyio


def low_threshold(folder: Path) -> Path:
    """Kenya with a CTR threshold of KES 1,000 from its newest version on."""
    text = resources.files("mkoba.catalog").joinpath("profiles", "kenya.yaml").read_text("utf-8")
    document = yaml.safe_load(text)
    document["versions"][-1]["risk"] = {"ctr_threshold": 1_000}
    path = folder / "kenya_low.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    return path


async def test_the_ctr_and_an_str_draft_from_the_command_line(world: World, tmp_path: Path) -> None:
    monday = week_two_back()
    customer = await world.customer()
    big = await deposit(world, customer, 1_500 * KSH, local(monday, 10))
    await deposit(world, customer, 999 * KSH, local(monday, 11))  # below: not reported
    db = world.platform.settings.db
    profile = str(low_threshold(tmp_path))
    run = CliRunner(env={"COLUMNS": "200"})
    args = ["reports", "ctr", "--week", monday.isoformat(), "--db", db, "--profile", profile]
    done = run.invoke(app, [*args, "--format", "csv"])
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [row["receipt"] for row in rows] == [big]
    assert rows[0]["amount"] == "1500.00" and rows[0]["direction"]
    xml = run.invoke(app, [*args, "--entity", "4711"])
    assert xml.exit_code == 0 and "<report_code>CTR</report_code>" in xml.stdout, xml.output
    assert "<rentity_id>4711</rentity_id>" in xml.stdout and big in xml.stdout
    refused = run.invoke(app, args)  # XML needs the entity's id
    assert refused.exit_code == 2 and "MKOBA_GOAML_ENTITY" in refused.output
    out = tmp_path / "str.xml"
    draft = run.invoke(
        app,
        [
            "reports", "str", "--party", str(customer.id), "--receipts", big,
            "--reason", "cash in under the threshold, twice", "--db", db,
            "--entity", "4711", "--out", str(out),
            "--suspected", datetime(2026, 12, 1, 9, tzinfo=UTC).isoformat(),
        ],
    )  # fmt: skip
    assert draft.exit_code == 0, draft.output
    body = out.read_text()
    assert "<report_code>STR</report_code>" in body and big in body
    assert "2026-12-03" in body  # due two days after suspicion arose
    unknown = run.invoke(
        app,
        ["reports", "str", "--party", str(customer.id), "--receipts", "NOSUCH0001",
         "--reason", "x", "--db", db, "--format", "csv"],
    )  # fmt: skip
    assert unknown.exit_code == 2 and "NOSUCH0001" in unknown.output
