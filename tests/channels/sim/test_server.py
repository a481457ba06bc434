"""The SIM server against a real platform: secured packets in, TranProc's answers out.

Each test provisions its own SIM for its own customer, sends what the applet
sends, and checks what a user would: the answer on the SIM, the money in the
books, and what is refused with which proof-of-receipt status.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from mkoba.app import Platform
from mkoba.channels.sim.cards import CardError, Cards
from mkoba.channels.sim.server import SimServer
from mkoba.codes import Code
from mkoba.parties import Party
from mkoba.simcard.applet import decode_answer, decode_request, encode_request
from mkoba.simcard.refusals import ChecksumFailed, PorStatus
from tests.channels.sim.sim import MENU_VERSION, Sim, new_iccid, platform_server
from tests.conftest import MakePlatform
from tests.products.world import CUSTOMER_PIN, KSH, World, wallet

pytestmark = pytest.mark.anyio
Served = tuple[Cards, SimServer]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Every async test and fixture of a module on one asyncio loop."""
    return "asyncio"


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    """The module's platform (Kenya profile)."""
    return await make_platform("sim_server")


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    """Parties made through TranProc, and the books."""
    return await World(platform).setup()


@pytest.fixture(scope="module")
async def served(platform: Platform) -> Served:
    """The SIM cards and the server, on the module's platform."""
    return await platform_server(platform)


async def sim_for(platform: Platform, served: Served, party: Party) -> Sim:
    """A new SIM provisioned for ``party``'s number."""
    assert party.msisdn is not None
    iccid = new_iccid()
    await served[0].provision(iccid, party.msisdn)
    return Sim(iccid, platform.settings.keys_dir)


async def test_balance_and_send_money_through_the_sim(
    platform: Platform, world: World, served: Served
) -> None:
    _, server = served
    payer, friend = await world.customer(1000), await world.customer()
    assert payer.msisdn and friend.msisdn
    sim = await sim_for(platform, served, payer)

    shown = sim.answer(await server.handle(payer.msisdn, sim.request("balance", CUSTOMER_PIN)))
    assert shown.code == Code.OK
    assert "1,000.00" in shown.message or "1000.00" in shown.message, shown.message

    packet = sim.request("send_money", CUSTOMER_PIN, to=friend.msisdn, amount="150")
    response = sim.open(await server.handle(payer.msisdn, packet))
    assert response.status is PorStatus.OK
    assert response.answers == sim.counter
    sent = decode_answer(response.data)
    assert sent.code == Code.OK, sent
    assert sent.receipt
    payer_left, friend_has = await world.balances(wallet(payer), wallet(friend))
    assert friend_has == 150 * KSH
    assert payer_left < 850 * KSH  # the fee too
    receipt = await world.receipt(sent.receipt)
    assert receipt["amount"] == 150 * KSH
    world.check_books()
    card = served[0].by_msisdn(payer.msisdn)
    assert card is not None
    assert (card.mo_counter, card.menu_version) == (2, MENU_VERSION)


async def test_a_wrong_pin_is_answered_as_tranproc_answers_it(
    platform: Platform, world: World, served: Served
) -> None:
    _, server = served
    payer, friend = await world.customer(300), await world.customer()
    assert payer.msisdn and friend.msisdn
    sim = await sim_for(platform, served, payer)
    packet = sim.request("send_money", "9999", to=friend.msisdn, amount="100")
    shown = sim.answer(await server.handle(payer.msisdn, packet))
    assert shown.code == Code.WRONG_PIN
    assert shown.message
    assert not shown.receipt
    assert await world.balances(wallet(payer), wallet(friend)) == [300 * KSH, 0]


async def test_a_replayed_packet_is_refused_and_pays_nothing_twice(
    platform: Platform, world: World, served: Served
) -> None:
    _, server = served
    payer, friend = await world.customer(500), await world.customer()
    assert payer.msisdn and friend.msisdn
    sim = await sim_for(platform, served, payer)
    packet = sim.request("send_money", CUSTOMER_PIN, to=friend.msisdn, amount="100")
    assert sim.answer(await server.handle(payer.msisdn, packet)).code == Code.OK
    again = sim.open(await server.handle(payer.msisdn, packet))
    assert again.status is PorStatus.COUNTER_LOW
    assert again.answers == sim.counter
    assert again.data == b""
    assert (await world.balances(wallet(friend)))[0] == 100 * KSH
    world.check_books()


async def test_the_same_packet_twice_at_once_pays_once(
    platform: Platform, world: World, served: Served
) -> None:
    _, server = served
    payer, friend = await world.customer(500), await world.customer()
    assert payer.msisdn and friend.msisdn
    sim = await sim_for(platform, served, payer)
    packet = sim.request("send_money", CUSTOMER_PIN, to=friend.msisdn, amount="100")
    both = await asyncio.gather(*(server.handle(payer.msisdn, packet) for _ in range(2)))
    assert None not in both
    in_order = sorted(both, key=lambda answer: answer[6:11] if answer else b"")  # by CNTR
    statuses = sorted(sim.open(answer).status for answer in in_order)
    assert statuses == [PorStatus.OK, PorStatus.COUNTER_LOW]
    assert await world.balances(wallet(friend)) == [100 * KSH]


async def test_a_tampered_packet_is_refused_and_nothing_moves(
    platform: Platform, world: World, served: Served
) -> None:
    cards, server = served
    payer, friend = await world.customer(500), await world.customer()
    assert payer.msisdn and friend.msisdn
    sim = await sim_for(platform, served, payer)
    packet = bytearray(sim.request("send_money", CUSTOMER_PIN, to=friend.msisdn, amount="100"))
    packet[-3] ^= 0x01
    refused = sim.open(await server.handle(payer.msisdn, bytes(packet)))
    assert refused.status is PorStatus.CHECKSUM_FAILED
    assert await world.balances(wallet(payer), wallet(friend)) == [500 * KSH, 0]
    card = cards.by_msisdn(payer.msisdn)
    assert card is not None and card.mo_counter == 0  # a forgery moves no counter


async def test_a_malformed_request_uses_its_counter_and_moves_nothing(
    platform: Platform, world: World, served: Served
) -> None:
    _, server = served
    payer = await world.customer(500)
    assert payer.msisdn
    sim = await sim_for(platform, served, payer)
    packet = sim.request("balance", "12a4")
    refused = sim.open(await server.handle(payer.msisdn, packet))
    assert refused.status is PorStatus.CIPHERING_ERROR
    assert sim.open(await server.handle(payer.msisdn, packet)).status is PorStatus.COUNTER_LOW


async def test_a_sim_swap_ends_the_old_sims_packets(
    platform: Platform, world: World, served: Served
) -> None:
    cards, server = served
    payer, friend = await world.customer(500), await world.customer()
    assert payer.msisdn and friend.msisdn
    old = await sim_for(platform, served, payer)
    assert old.answer(await server.handle(payer.msisdn, old.request("balance", CUSTOMER_PIN)))
    new = await sim_for(platform, served, payer)  # the swap

    packet = old.request("send_money", CUSTOMER_PIN, to=friend.msisdn, amount="100")
    answer = await server.handle(payer.msisdn, packet)
    with pytest.raises(ChecksumFailed):
        old.open(answer)  # sealed for the new SIM: the old one cannot even read it
    assert new.open(answer).status is PorStatus.CHECKSUM_FAILED
    assert await world.balances(wallet(friend)) == [0]
    ended = await world.rows("SELECT state, reason FROM sim_cards WHERE iccid = ?", (old.iccid,))
    assert ended == [("ended", "sim_swap")]
    with pytest.raises(CardError, match="already provisioned"):
        await cards.provision(old.iccid, payer.msisdn)

    sent = new.answer(
        await server.handle(
            payer.msisdn,
            new.request("send_money", CUSTOMER_PIN, to=friend.msisdn, amount="100"),
        )
    )
    assert sent.code == Code.OK
    assert await cards.end(payer.msisdn, "closed") is not None
    gone = new.open(await server.handle(payer.msisdn, new.request("balance", CUSTOMER_PIN)))
    assert gone.status is PorStatus.UNIDENTIFIED_SECURITY_ERROR
    assert await server.handle(world.msisdn(), new.request("balance", CUSTOMER_PIN)) is None


async def test_a_canary_pin_is_never_in_rows_logs_or_reprs(
    platform: Platform, world: World, served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "739146"
    cards, server = served
    payer, friend = await world.customer(500, pin=canary), await world.customer()
    assert payer.msisdn and friend.msisdn
    sim = await sim_for(platform, served, payer)
    caplog.set_level(logging.DEBUG)
    packet = sim.request("send_money", canary, to=friend.msisdn, amount="100")
    assert canary.encode() not in packet
    decoded = decode_request(encode_request("balance", {}, canary, MENU_VERSION))
    shown = sim.answer(await server.handle(payer.msisdn, packet))
    assert shown.code == Code.OK
    replayed = await server.handle(payer.msisdn, packet)
    bad = sim.request("send_money", canary + "x", to=friend.msisdn, amount="1")
    await server.handle(payer.msisdn, bad)
    rows = await world.rows("SELECT * FROM sim_cards")
    requests = await world.rows("SELECT * FROM requests")
    seen = " ".join(
        [caplog.text, repr(rows), repr(requests), repr(decoded), repr(server), repr(cards)]
    )
    seen += repr(cards.by_msisdn(payer.msisdn)) + repr(replayed)
    assert canary not in seen
