"""The menu engine on its own: PINs sealed in the adapter, sessions, pages, gateways' styles.

TranProc is replaced by a recorder that answers like it; everything else is the
real engine, the shipped menus and real keys.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from mkoba.catalog import load_catalog
from mkoba.channels.ussd.definition import parse
from mkoba.channels.ussd.engine import Engine, Hop
from mkoba.channels.ussd.gateway import Ending, Screen, SessionEnd, UssdEvent
from mkoba.channels.ussd.library import Library
from mkoba.channels.ussd.session import Sessions
from mkoba.codes import Code
from mkoba.commands.catalog import PayPerson
from mkoba.parties import Party, PartyKind, SealedPin, SecretKey, open_pin
from mkoba.processor.request import Channel, Request, Response

KEY = SecretKey(os.urandom(32))
PROFILE = load_catalog("kenya").current()
PEOPLE = {
    "254712000001": Party(1, PartyKind.CUSTOMER, "Wanjiku Kamau", "254712000001"),
    "254712000002": Party(2, PartyKind.CUSTOMER, "Otieno Ouma", "254712000002", language="sw"),
}


class TranProc:
    """Records requests and answers them as TranProc would."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        if request.product == "name_lookup":
            data = {"name": "OTIENO O****", "number": "0712***002"}
            return Response(request.id, Code.OK, "OTIENO O****", None, data)
        return Response(request.id, Code.OK, "Done.", "UKO1CZ2IBW", {"amount": 10_000})


def _engine(library: Library | None = None) -> tuple[Engine, TranProc]:
    recorder = TranProc()
    engine = Engine(
        library or Library([]),
        Sessions(60, 180),
        PEOPLE.get,
        recorder,
        KEY,
        lambda: PROFILE,
    )
    return engine, recorder


def _walker(engine: Engine, msisdn: str, session: str) -> Callable[..., Awaitable[Hop]]:
    path: list[str] = []

    async def hop(*inputs: str) -> Hop:
        """Dial (no inputs) or answer each input in its own hop; the last answer."""
        result = None
        for text in inputs or (None,):
            if text is not None:
                path.append(text)
            event = UssdEvent("at", session, "+" + msisdn, "*334#", "63902", path=tuple(path))
            result = await engine.hop(event)
        assert result is not None
        return result

    return hop


def test_a_pin_is_sealed_to_its_request_and_never_held_in_clear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        engine, recorder = _engine()
        hop = _walker(engine, "254712000001", "s1")
        await hop()
        await hop("1", "0712000002", "100")
        session = engine.sessions.get(("at", "s1"))
        assert session is not None and session.screen == "send.pin"
        result = await hop("9024")
        assert result.request_id == "ussd:at:s1:2"
        lookup, send = recorder.requests
        assert lookup.product == "name_lookup" and lookup.pin is None
        assert send.product == "send_money" and send.channel == Channel.USSD
        assert send.command == PayPerson("254712000002", 100 * 100)
        assert isinstance(send.pin, SealedPin)
        assert open_pin(send.pin, KEY, send.id.encode()).reveal() == "9024"
        with pytest.raises(ValueError, match="could not be read"):
            open_pin(send.pin, KEY, b"ussd:at:s1:3")
        assert "9024" not in repr(send)

    with caplog.at_level(logging.DEBUG):
        asyncio.run(scenario())
    assert all("9024" not in record.getMessage() for record in caplog.records)


def test_a_pin_typed_is_sealed_at_once_and_dropped_with_the_session() -> None:
    async def scenario() -> None:
        engine, _ = _engine()
        hop = _walker(engine, "254712000001", "s2")
        await hop()
        await hop("7", "3", "1357", "2580")
        session = engine.sessions.get(("at", "s2"))
        assert session is not None
        assert set(session.sealed) == {"pin", "new_pin"}
        assert all(isinstance(sealed, SealedPin) for sealed in session.sealed.values())
        assert not any(value in ("1357", "2580") for value in session.values.values())
        engine.sessions.drop(session.key)
        assert session.sealed == {}

    asyncio.run(scenario())


def test_change_pin_sends_the_new_pin_sealed_for_the_new_pin_context() -> None:
    async def scenario() -> None:
        engine, recorder = _engine()
        hop = _walker(engine, "254712000001", "s3")
        await hop()
        final = await hop("7", "3", "1357", "2580", "2580")
        assert final.screen.text.startswith("Your M-PESA PIN has been changed.")
        (request,) = recorder.requests
        context = request.id.encode() + b":new"
        assert request.new_pin is not None
        assert open_pin(request.new_pin, KEY, context).reveal() == "2580"
        assert request.pin is not None
        assert open_pin(request.pin, KEY, request.id.encode()).reveal() == "1357"

    asyncio.run(scenario())


def test_a_swahili_customer_is_answered_in_swahili_on_refusals_too() -> None:
    class Refusing(TranProc):
        async def __call__(self, request: Request) -> Response:
            await super().__call__(request)
            return Response(request.id, Code.INSUFFICIENT_FUNDS, "You do not have enough.")

    async def scenario() -> None:
        recorder = Refusing()
        engine = Engine(Library([]), Sessions(60, 180), PEOPLE.get, recorder, KEY, lambda: PROFILE)
        hop = _walker(engine, "254712000002", "s4")
        await hop()
        final = await hop("7", "2", "1357")
        assert final.screen.text == "Huna pesa za kutosha kufanya hivyo."
        assert not final.screen.more and final.request_id is None

    asyncio.run(scenario())


def test_gateways_that_send_only_the_latest_input_work_the_same() -> None:
    async def scenario() -> None:
        engine, recorder = _engine()

        async def hop(latest: str | None) -> Hop:
            event = UssdEvent("hubtel", "h1", "254712000001", "*334#", "mtn", latest=latest)
            return await engine.hop(event)

        assert (await hop(None)).screen.text.startswith("M-PESA\n1 Send Money")
        for text in ("7", "2"):
            await hop(text)
        final = await hop("1357")
        assert recorder.requests[-1].id == "ussd:hubtel:h1:1"
        assert not final.screen.more

    asyncio.run(scenario())


def test_a_long_menu_is_paged_with_more_and_back() -> None:
    options = [
        {"label": {"en": f"A rather long option label number {n}"}, "next": "bye"}
        for n in range(1, 10)
    ]
    raw: dict[str, Any] = {
        "role": "merchant",
        "version": 50,
        "languages": ["en"],
        "start": "main",
        "screens": {
            "main": {"menu": {"en": "Choose"}, "options": options},
            "bye": {"say": {"en": "Bye"}},
        },
    }
    library = Library([])
    menu = parse(raw, "paged.yaml")
    library._menus["merchant"][50] = menu

    async def scenario() -> None:
        engine, _ = _engine(library)
        merchant = Party(3, PartyKind.MERCHANT, "Naivas", "254711300100")
        engine.party_of = {"254711300100": merchant}.get
        hop = _walker(engine, "254711300100", "p1")
        first = (await hop()).screen.text
        assert first.startswith("Choose\n1 A rather") and first.endswith("\n98 More")
        assert len(first) <= 160
        label = "A rather long option label number"
        second = (await hop("98")).screen.text
        assert second == "\n".join([*(f"{n} {label} {n}" for n in (4, 5, 6, 7)), "98 More"])
        third = (await hop("98")).screen.text
        assert third == f"8 {label} 8\n9 {label} 9"
        assert (await hop("0")).screen.text == second
        assert (await hop("0")).screen.text == first
        assert (await hop("9")).screen.text == "Bye"

    asyncio.run(scenario())


def test_an_old_session_id_with_input_is_told_to_dial_again() -> None:
    async def scenario() -> None:
        engine, recorder = _engine()
        event = UssdEvent("at", "gone", "+254712000001", "*334#", "63902", path=("1", "1357"))
        hop = await engine.hop(event)
        assert hop.screen.text == "Your session has ended. Dial *334# to start again."
        assert recorder.requests == []

    asyncio.run(scenario())


def test_another_phone_cannot_continue_a_session_nor_see_it() -> None:
    """Phone B with phone A's session id, half way through A's PIN change: nothing moves."""

    async def scenario() -> None:
        engine, recorder = _engine()
        owner = _walker(engine, "254712000001", "s-own")
        await owner()
        await owner("7", "3", "1357")  # change PIN: the old PIN is in, the new one is asked
        session = engine.sessions.get(("at", "s-own"))
        assert session is not None
        before = (session.screen, session.consumed, session.hops, dict(session.values))
        sealed = dict(session.sealed)
        for path in (("7", "3", "1357", "2580"), ("7", "3", "1357", "2580", "2580"), ()):
            event = UssdEvent("at", "s-own", "+254712000002", "*334#", "63902", path=path)
            hop = await engine.hop(event)
            assert hop.screen == Screen.end("Your session has ended. Dial *334# to start again.")
            assert hop.request_id is None
        # The session is the owner's, exactly as the owner left it, and nothing was asked.
        assert engine.sessions.get(("at", "s-own")) is session
        assert (session.screen, session.consumed, session.hops, session.values) == before
        assert session.sealed == sealed
        assert recorder.requests == []
        # Another phone's end notice does not end it either; the owner's does.
        notice = SessionEnd("at", "s-own", Ending.INCOMPLETE, 4, 900, "", "+254712000002")
        assert not engine.end(notice)
        assert engine.sessions.get(("at", "s-own")) is session
        # The owner goes on: new PIN, confirmation, one request, with the owner's PINs.
        await owner("2580")
        final = await owner("2580")
        assert final.screen.more is False
        (change,) = recorder.requests
        assert change.product == "change_pin" and change.msisdn == "254712000001"
        assert open_pin(change.pin, KEY, change.id.encode()).reveal() == "1357"

    asyncio.run(scenario())


def test_the_owners_end_notice_ends_the_session() -> None:
    async def scenario() -> None:
        engine, _ = _engine()
        await _walker(engine, "254712000001", "s-end")()
        local = SessionEnd("at", "s-end", Ending.SUCCESS, 1, 10, "", "0712000001")
        assert engine.end(local)
        assert engine.sessions.get(("at", "s-end")) is None

    asyncio.run(scenario())
