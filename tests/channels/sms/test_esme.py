"""The ESME against a real SMSC peer: bind, submit, receipts, throttling, windows, drops.

Every test runs our asyncio ESME (smpplib's PDUs) against the npm smpp server
on loopback and checks what the SMSC saw and what came back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from mkoba.channels.sms import encoding, receipts
from mkoba.channels.sms.esme import RTHROTTLED, Esme, Inbound, throttle_retries_max
from mkoba.channels.sms.gateway import SmppGateway
from tests.channels.sms.peer import PASSWORD, USER, Peer

RECIPIENT = "254712000001"


def _fields(recipient: str, part: encoding.Part) -> dict[str, Any]:
    return {
        "source_addr_ton": 5,
        "source_addr_npi": 0,
        "source_addr": "MPESA",
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": recipient,
        "esm_class": part.esm_class,
        "registered_delivery": 1,
        "data_coding": part.data_coding,
        "short_message": part.short_message,
    }


def _run(
    smsc: Peer,
    scenario: Callable[[Esme, list[Inbound]], Awaitable[None]],
    password: str = PASSWORD,
    **options: Any,
) -> list[Inbound]:
    """Run ``scenario`` with a started ESME bound to ``smsc``; what came in."""
    inbound: list[Inbound] = []

    async def main() -> None:
        esme = Esme("127.0.0.1", smsc.port, USER, password, on_inbound=inbound.append, **options)
        esme.start()
        try:
            await scenario(esme, inbound)
        finally:
            await esme.stop()

    asyncio.run(main())
    return inbound


async def _until(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("never happened")


def test_a_gsm7_message_is_accepted_and_its_receipt_names_it(smsc: Peer) -> None:
    text = "UKO1CZ2IBW Confirmed. Ksh100.00 sent to WANJIKU KAMAU 0712000002 on 24/11/26."
    results = []

    async def scenario(esme: Esme, inbound: list[Inbound]) -> None:
        assert await esme.wait_bound(5)
        (part,) = encoding.parts(text)
        results.append(await esme.submit(**_fields(RECIPIENT, part)))
        await _until(lambda: bool(inbound))

    (dlr,) = _run(smsc, scenario)
    (result,) = results
    assert result.ok and result.message_id
    (seen,) = smsc.messages(RECIPIENT)
    assert seen["text"] == text
    assert (seen["data_coding"], seen["esm_class"], seen["registered_delivery"]) == (0, 0, 1)
    assert dlr.is_receipt
    receipt = receipts.read(dlr)
    assert receipt is not None
    assert receipt.message_id == receipts.normal_id(result.message_id)
    assert receipt.fate == receipts.Fate.DELIVERED and receipt.stat == "DELIVRD"
    assert smsc.stats()["receipt_acks"] == 1


def test_a_long_ucs2_message_goes_in_concatenated_parts(smsc: Peer) -> None:
    text = "Umepokea Ksh500.00 kutoka kwa ZOË ŁUKASZ 0712000002. " * 3
    assert len(text) > 134

    async def scenario(esme: Esme, inbound: list[Inbound]) -> None:
        for part in encoding.parts(text):
            assert (await esme.submit(**_fields(RECIPIENT, part))).ok

    _run(smsc, scenario)
    seen = smsc.messages(RECIPIENT)
    assert len(seen) == 3
    assert {m["data_coding"] for m in seen} == {8}
    assert {m["esm_class"] & 0x40 for m in seen} == {0x40}
    # The peer shows the UDH's information element: 00 (8-bit reference) 03 ref total seq.
    headers = [bytes.fromhex(m["udh"]) for m in seen]
    assert [h[:2] for h in headers] == [b"\x00\x03"] * 3
    assert len({h[2] for h in headers}) == 1  # one reference for the whole message
    assert [(h[3], h[4]) for h in headers] == [(3, 1), (3, 2), (3, 3)]
    assert "".join(m["text"] for m in seen) == text


def test_a_throttled_destination_is_retried_then_reported(smsc: Peer) -> None:
    results = []

    async def scenario(esme: Esme, inbound: list[Inbound]) -> None:
        (part,) = encoding.parts("hello")
        results.append(await esme.submit(**_fields("254700000444", part)))
        results.append(esme.throttled)

    _run(smsc, scenario)
    result, throttled = results
    assert result.status == RTHROTTLED and not result.ok
    assert throttled == throttle_retries_max + 1
    assert smsc.stats()["throttled"] == throttle_retries_max + 1


def test_an_smsc_that_throttles_by_rate_gets_every_message_in_the_end(smsc: Peer) -> None:
    smsc.config(throttle_per_s=40)
    counts = []

    async def scenario(esme: Esme, inbound: list[Inbound]) -> None:
        (part,) = encoding.parts("rate limited")
        results = await asyncio.gather(
            *(esme.submit(**_fields(f"2547120{n:05d}", part)) for n in range(100))
        )
        counts.append(sum(result.ok for result in results))
        counts.append(esme.throttled)

    _run(smsc, scenario, window=10)
    accepted, throttled = counts
    assert accepted == 100
    assert throttled > 0
    assert smsc.stats()["throttled"] == throttled


def test_no_more_submit_sm_are_outstanding_than_the_window(smsc: Peer) -> None:
    smsc.config(resp_delay_ms=100)

    async def scenario(esme: Esme, inbound: list[Inbound]) -> None:
        (part,) = encoding.parts("windowed")
        await asyncio.gather(*(esme.submit(**_fields(RECIPIENT, part)) for _ in range(12)))
        assert esme.outstanding_max == 3

    _run(smsc, scenario, window=3)
    assert smsc.stats()["max_outstanding"] == 3
    assert smsc.stats()["submits"] == 12


def test_the_link_is_kept_alive_with_enquire_link(smsc: Peer) -> None:
    async def scenario(esme: Esme, inbound: list[Inbound]) -> None:
        assert await esme.wait_bound(5)
        await asyncio.sleep(0.75)

    _run(smsc, scenario, enquire_link_s=0.2)
    assert smsc.stats()["enquire_links"] >= 2


def test_a_dropped_connection_is_rebound_and_sending_resumes(smsc: Peer) -> None:
    binds = []

    async def scenario(esme: Esme, inbound: list[Inbound]) -> None:
        (part,) = encoding.parts("before the bind")
        # Submitted before the first bind completes: it waits for the bind.
        assert (await esme.submit(**_fields(RECIPIENT, part))).ok
        smsc.drop()
        await _until(lambda: esme.binds == 2)
        (part,) = encoding.parts("after the drop")
        assert (await esme.submit(**_fields(RECIPIENT, part))).ok
        binds.append(esme.binds)

    _run(smsc, scenario)
    assert binds == [2]
    assert smsc.stats()["binds"] == 2
    texts = [m["text"] for m in smsc.messages(RECIPIENT)]
    assert texts == ["before the bind", "after the drop"]


def test_a_refused_bind_never_binds_and_stops_cleanly(smsc: Peer) -> None:
    async def scenario(esme: Esme, inbound: list[Inbound]) -> None:
        assert not await esme.wait_bound(1.0)

    _run(smsc, scenario, password="wrong")
    assert smsc.stats()["bind_failures"] >= 1
    assert smsc.stats()["binds"] == 0


def test_messages_from_phones_arrive_and_are_acknowledged(smsc: Peer) -> None:
    async def scenario(esme: Esme, inbound: list[Inbound]) -> None:
        assert await esme.wait_bound(5)
        smsc.mo("254712000001", "456", "UKO1CZ2IBW Confirmed. Ksh100.00 sent to...")
        smsc.mo("254712000002", "334455", "Habari, salio?")
        await _until(lambda: len(inbound) == 2)

    inbound = _run(smsc, scenario)
    texts = {
        m.source: encoding.decode(m.short_message, m.data_coding, m.esm_class) for m in inbound
    }
    assert texts == {
        "254712000001": "UKO1CZ2IBW Confirmed. Ksh100.00 sent to...",
        "254712000002": "Habari, salio?",
    }
    assert not any(m.is_receipt for m in inbound)
    assert smsc.stats()["mo_acks"] == 2


def test_the_gateway_maps_smsc_answers_to_outbox_outcomes(smsc: Peer) -> None:
    from mkoba.outbox import Delivery, Message

    outcomes = []

    class Tracker:
        def sent(self, *args: Any) -> None:
            outcomes.append(args)

    async def scenario(esme: Esme, inbound: list[Inbound]) -> None:
        gateway = SmppGateway(esme, Tracker(), "MPESA")  # type: ignore[arg-type]
        ok = Message(7, "api:1", "sms", RECIPIENT, "x" * 200, 0, "send_money.payer")
        throttled = Message(8, "api:2", "sms", "254700000444", "hi", 0, "send_money.payee")
        outcomes.append(await gateway.send(ok))
        outcomes.append(await gateway.send(throttled))

    _run(smsc, scenario)
    tracked, first, second = outcomes
    assert first == Delivery.SENT and second == Delivery.RETRY
    outbox_id, request_id, reference, ids = tracked
    assert (outbox_id, request_id, reference, len(ids)) == (7, "api:1", "send_money.payer", 2)
