"""The SIM's menu: every shipped USSD menu encodes, decodes strictly, and chunks for the air.

Goal: what the SIM stores is the USSD definition (the same data, cut to what a
SIM shows and sends), the same bytes for the same definition, and nothing but
``MenuRefused`` for bytes that are not a menu; the chunks of a menu make it
again only whole and in order, checked against its digest.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mkoba.channels.ussd.definition import ROLES
from mkoba.channels.ussd.library import Library
from mkoba.simcard import chunks, menus
from mkoba.simcard.keys import Direction
from mkoba.simcard.packet import TAR_MENU, open_command, packet_max, seal_command
from mkoba.simcard.refusals import MalformedRequest
from tests.channels.sim.sims import MT_KEY

LIBRARY = Library([])
EVERY_MENU = [LIBRARY.get(role, version) for role in ROLES for version in LIBRARY.versions(role)]


@pytest.mark.parametrize("menu", EVERY_MENU, ids=repr)
def test_every_shipped_menu_round_trips(menu: object) -> None:
    document = menu.document  # type: ignore[attr-defined]
    sim_menu = menus.from_document(document)
    encoded = menus.encode(sim_menu)
    assert menus.decode(encoded) == sim_menu
    # Deterministic: the same definition, parsed again, gives the same bytes.
    assert menus.encode(menus.from_document(json.loads(document))) == encoded
    # Compact: a fraction of the JSON document the USSD channel serves.
    assert len(encoded) < len(document) / 3


def test_the_sim_menu_keeps_what_the_sim_shows_and_sends() -> None:
    customer = menus.from_document(LIBRARY.get("customer", 4).document)  # type: ignore[union-attr]
    assert (customer.role, customer.version, customer.languages) == ("customer", 4, ("en", "sw"))
    main = customer.screens[customer.start]
    assert main.kind == menus.MENU and main.texts == ("M-PESA", "M-PESA")
    assert [option.key for option in main.options] == ["1", "2", "3", "5", "7"]
    send_to = customer.screens[main.options[0].next]
    assert (send_to.kind, send_to.field, send_to.check) == (menus.ASK, "to", "msisdn")
    requests = {s.product: s for s in customer.screens if s.kind == menus.REQUEST}
    assert requests["send_money"].params == (("amount", "{amount}"), ("to", "{to}"))
    assert requests["send_money"].pin == "pin"
    assert requests["change_pin"].new_pin == "new_pin"
    # The name look-up cannot run on a SIM: it passes on to the PIN screen.
    assert any(s.kind == menus.PASS for s in customer.screens)


def test_every_cut_and_every_byte_more_is_refused() -> None:
    encoded = menus.encode(menus.from_document(LIBRARY.get("merchant", 1).document))  # type: ignore[union-attr]
    for end in range(len(encoded)):
        with pytest.raises(menus.MenuRefused):
            menus.decode(encoded[:end])
    with pytest.raises(menus.MenuRefused, match="bytes follow"):
        menus.decode(encoded + b"\x00")


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_altered_byte_is_a_menu_or_refused(data: st.DataObject) -> None:
    encoded = bytearray(menus.encode(menus.from_document(LIBRARY.get("agent", 2).document)))  # type: ignore[union-attr]
    at = data.draw(st.integers(0, len(encoded) - 1))
    encoded[at] = data.draw(st.integers(0, 255))
    try:
        menu = menus.decode(bytes(encoded))
    except menus.MenuRefused:
        return
    assert all(screen.next < len(menu.screens) for screen in menu.screens)


def test_what_the_format_cannot_carry_is_refused_before_it_is_sent() -> None:
    raw = json.loads(LIBRARY.get("merchant", 1).document)  # type: ignore[union-attr]
    with pytest.raises(menus.MenuRefused, match="65535"):
        menus.from_document({**raw, "version": 70_000})
    with pytest.raises(menus.MenuRefused):
        menus.from_document({**raw, "start": "nowhere"})


def test_a_menu_chunks_into_packets_of_two_sms_and_assembles_only_whole() -> None:
    document = LIBRARY.get("customer", 4).document  # type: ignore[union-attr]
    package = chunks.package(document)
    assert (package.role, package.version) == ("customer", 4)
    assert len(package.chunks) > 10
    total = len(package.chunks)
    for index, chunk in enumerate(package.chunks):
        payload = chunks.chunk_payload(4, index, total, chunk)
        packet = seal_command(
            MT_KEY, 1, tar=TAR_MENU, counter=index + 1, data=payload, direction=Direction.MT
        )
        assert len(packet) <= 132 + 134 < packet_max  # one or two SMS
        opened = open_command(
            packet,
            keys={1: MT_KEY},
            last_counter=index,
            tars=frozenset({TAR_MENU}),
            direction=Direction.MT,
        )
        assert chunks.read_chunk(opened.data) == chunks.Chunk(4, index, total, chunk)
    assert chunks.assemble(list(package.chunks)) == menus.from_document(document)
    with pytest.raises(menus.MenuRefused, match="digest"):
        chunks.assemble(list(package.chunks[:-1]))
    with pytest.raises(menus.MenuRefused, match="digest"):
        chunks.assemble([package.chunks[1], package.chunks[0], *package.chunks[2:]])


def test_a_malformed_chunk_is_refused() -> None:
    for payload in (b"", b"\x00\x04\x00\x02", b"\x00\x00\x00\x02x", b"\x00\x04\x02\x02x"):
        with pytest.raises(MalformedRequest):
            chunks.read_chunk(payload)
    with pytest.raises(MalformedRequest):
        chunks.read_receipt(b"\x00\x04")
