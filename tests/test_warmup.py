"""A warm standby core takes over with the ledger and directory a cold start would load.

Two cores on one PostgreSQL schema and one NATS bus (a prefix of the test's own),
in this process: core A serves; core B stands by, warm (``mkoba/warmup.py``). A
registers customers, moves money and counts a wrong PIN before B has loaded, more
after B loaded (B follows some of it), and more right before it stops: a new
customer, a send, a suspended party, wrong PINs (credentials updated in place), a
wallet closed in the ledger. A stops; B takes the lease and starts. B's engine and
directory are compared with a ledger and a directory loaded cold from the store,
then B serves: the customers A registered send money, and a replayed request of
A's is answered from the store, not applied again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.ledger import Engine
from mkoba.ledger.loading import load
from mkoba.ledger.store.postgres import PostgresStore
from mkoba.parties import Directory, PartyState
from mkoba.settings import Settings
from tests.ledger.test_warm import full_state
from tests.processor.world import CUSTOMER_PIN, World, available, eventually, wallet

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


def directory_state(directory: Directory) -> dict[str, Any]:
    """Everything the directory holds, its indexes included."""
    return dict(vars(directory))


def settings(url: str, bus: str, folder: Path) -> Settings:
    return Settings(
        db=url,
        bus=bus,
        role="core",
        keys_dir=folder / "keys",
        mail_dir=folder / "mail",
        profile="kenya",
        demo=False,
        lease_s=2.0,
    )


async def test_a_warm_standby_takes_over_with_what_a_cold_start_loads(
    postgres_url: str, bus_url: str, tmp_path: Path
) -> None:
    active = Platform(settings(postgres_url, bus_url, tmp_path))
    standby = Platform(settings(postgres_url, bus_url, tmp_path))
    await active.start()
    started_b = False
    try:
        world = await World(active).setup()
        amina = await world.customer(1_000)
        baraka = await world.customer(50)
        assert amina.msisdn and baraka.msisdn
        wrong = await world.ask("balance", baraka.msisdn, "9999")
        assert wrong.code is Code.WRONG_PIN

        await standby.start()
        started_b = True
        assert not standby.standby.ready
        warm = standby.standby.warm
        assert warm is not None
        await eventually(_true(lambda: warm.ready), 60, "the standby to load")

        zawadi = await world.customer(200)
        assert zawadi.msisdn
        sent = await world.ask(
            "send_money", amina.msisdn, CUSTOMER_PIN, to=baraka.msisdn, amount="100"
        )
        assert sent.code is Code.OK
        await eventually(_true(lambda: warm.ledger.records_followed > 0), 10, "a follow")
        await world.set_state(zawadi, PartyState.FROZEN)
        again = await world.ask("balance", amina.msisdn, "9999")
        assert again.code is Code.WRONG_PIN
        closed = await asyncio.wrap_future(active.writer.set_closed(wallet(baraka), True))
        assert closed.ok
        late = await world.customer(300)
        assert late.msisdn
        replayed_id = sent.request_id

        await active.stop()
        await eventually(_true(lambda: standby.standby.ready), 30, "the standby to take over")
        assert warm.state == "taken"
        assert standby.writer.started_warm  # caught up, not loaded again

        cold = Engine()
        with PostgresStore(postgres_url) as reader:
            load(reader, cold)
            cold_directory = Directory.load(reader)
        taken = await asyncio.wrap_future(standby.writer.read(full_state))
        assert taken == full_state(cold)
        assert directory_state(standby.services.directory) == directory_state(cold_directory)

        # B serves A's customers; A's request, asked again, is not applied again.
        moved = await World(standby).ask(
            "send_money", late.msisdn, CUSTOMER_PIN, to=amina.msisdn, amount="10"
        )
        assert moved.code is Code.OK
        before = await available(standby, wallet(amina))
        repeat = await World(standby).ask(
            "send_money",
            amina.msisdn,
            CUSTOMER_PIN,
            to=baraka.msisdn,
            amount="100",
            request_id=replayed_id,
        )
        assert repeat.code is Code.OK and repeat.data == sent.data
        assert await available(standby, wallet(amina)) == before
    finally:
        if started_b:
            await standby.stop()
        await active.stop()


def _true(check: Any) -> Any:
    async def holds() -> bool:
        return bool(check())

    return holds


async def test_a_warm_standby_stopped_while_standing_by_closes_its_reads(
    postgres_url: str, bus_url: str, tmp_path: Path
) -> None:
    active = Platform(settings(postgres_url, bus_url, tmp_path))
    standby = Platform(settings(postgres_url, bus_url, tmp_path))
    await active.start()
    try:
        await standby.start()
        warm = standby.standby.warm
        assert warm is not None
        await eventually(_true(lambda: warm.ready), 60, "the standby to load")
        health, ready = standby.health_report()
        assert not ready and health["parts"]["lease"]["warm"]["state"] == "warm"
        await standby.stop()
        assert not standby.standby.ready
        assert warm.tail._connection is None  # type: ignore[attr-defined]
        assert warm.ledger.tail._connection is None  # type: ignore[attr-defined]
        # The active core never noticed: it still holds the lease and serves.
        assert active.writer.health()["lease"]["state"] == "held"  # type: ignore[index]
    finally:
        await active.stop()
