"""``mkoba sims``: provision, list, show and end cards on the store, and a server serves them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mkoba.channels.sim.cli import sims_app
from mkoba.codes import Code
from mkoba.simcard.refusals import PorStatus
from tests.channels.sim.sim import Sim, new_iccid, platform_server
from tests.products.world import CUSTOMER_PIN, World, running

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """On asyncio."""
    return "asyncio"


def sims(db: Path, *args: str) -> tuple[int, str]:
    """Run ``mkoba sims ARGS`` on the store at ``db``: exit code and output."""
    result = CliRunner(
        env={"COLUMNS": "200", "NO_COLOR": "1", "MKOBA_SIMS_DIR": str(db.parent / "sims")}
    ).invoke(sims_app, [*args, "--db", str(db)])
    return result.exit_code, result.output


async def test_cards_provisioned_on_the_store_are_served_after_a_start(tmp_path: Path) -> None:
    db = tmp_path / "mkoba.db"
    async with running(str(db), tmp_path) as platform:
        customer = await World(platform).customer(200)
        assert customer.msisdn
    number = customer.msisdn
    first, second = new_iccid(), new_iccid()

    assert sims(db, "provision", first, "--msisdn", "0" + number[3:]) == (
        0,
        f"provisioned {first} for {number} (customer, key version 1)\n"
        f"its SIM file: {tmp_path / 'sims' / first}.json (mkoba phone {number} --sim)\n",
    )
    card_file = json.loads((tmp_path / "sims" / f"{first}.json").read_text())
    assert card_file["msisdn"] == number and card_file["counter"] == 0
    assert not any("key" in name and name != "key_version" for name in card_file)
    code, said = sims(db, "provision", first, "--msisdn", number)
    assert (code, said.strip()) == (2, "this ICCID is already provisioned")
    code, said = sims(db, "provision", second, "--msisdn", number, "--role", "agent")
    assert code == 0 and f"ended {first} (sim_swap)" in said
    code, listed = sims(db, "list")
    assert code == 0
    assert f"{first}" in listed and "ended (sim_swap)" in listed and "agent" in listed
    code, shown = sims(db, "show", second)
    assert code == 0 and "state         active" in shown and "mo_counter    0" in shown
    assert sims(db, "provision", "8925401234567890123", "--msisdn", number)[0] == 2
    assert sims(db, "provision", new_iccid(), "--msisdn", number, "--role", "boss")[0] == 2
    assert sims(db, "show", new_iccid())[0] == 2

    async with running(str(db), tmp_path) as platform:
        _, server = await platform_server(platform)
        old, new = Sim(first, platform.settings.keys_dir), Sim(second, platform.settings.keys_dir)
        answer = await server.handle(number, new.request("balance", CUSTOMER_PIN))
        assert new.answer(answer).code == Code.OK
        refused = new.open(await server.handle(number, old.request("balance", CUSTOMER_PIN)))
        assert refused.status is PorStatus.CHECKSUM_FAILED

    code, said = sims(db, "end", number, "--reason", "closed")
    assert code == 0 and f"ended {second} (closed)" in said
    assert sims(db, "end", number)[0] == 2
    assert sims(tmp_path / "none.db", "list")[0] == 2
