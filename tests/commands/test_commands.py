"""Commands: each product's input parsed once at the edge, typed on the bus, alike everywhere."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mkoba.bus.wire import WireError, request_bytes, request_from
from mkoba.catalog import load_catalog
from mkoba.channels.api.channel import ROUTES
from mkoba.codes import Code
from mkoba.commands import COMMANDS, BadCommand, Kind, from_wire, parse, shape
from mkoba.commands.catalog import ALL, NameLookup, PayPerson
from mkoba.commands.requests import SplitBill
from mkoba.processor.request import Channel, Request
from mkoba.products import all_products

PROFILE = load_catalog("kenya").current()


def test_every_product_has_exactly_one_command() -> None:
    assert set(COMMANDS) == set(all_products())
    named = [product for command in ALL for product in command.products]
    assert len(named) == len(set(named))


def test_amounts_arrive_in_minor_units_from_either_form() -> None:
    assert parse("send_money", {"to": "0712 345 678", "amount": "1,000.50"}, PROFILE) == PayPerson(
        "254712345678", 100_050
    )
    minor = parse("send_money", {"to": "+254712345678", "amount_minor": "100050"}, PROFILE)
    assert minor == PayPerson("254712345678", 100_050)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"amount": "10"}, "to is required"),
        ({"to": "0712345678"}, "amount is required"),
        ({"to": "12", "amount": "10"}, "to: "),
        ({"to": "0712345678", "amount": "0"}, "amount must be more than zero"),
        ({"to": "0712345678", "amount": "-5"}, "amount must be more than zero"),
        ({"to": "0712345678", "amount": "10.001"}, "amount: KES has 2 decimal places"),
        ({"to": "0712345678", "amount": "1e3"}, "amount: not an amount"),
        ({"to": "0712345678", "amount_minor": "10.5"}, "amount_minor: a whole number of cents"),
        ({"to": "0712345678", "amount_minor": "9" * 19}, "amount_minor: a whole number"),
        ({"to": "0712345678", "amount": "10", "note": "a\x00b"}, "note contains"),
        ({"to": "0712345678", "amount": "10", "note": "x" * 513}, "note is too long"),
        ({f"f{index}": "1" for index in range(33)}, "too many fields"),
    ],
)
def test_bad_input_is_refused_with_the_field_it_is_about(
    fields: dict[str, str], message: str
) -> None:
    with pytest.raises(BadCommand) as refused:
        parse("send_money", fields, PROFILE)
    assert refused.value.code is Code.INVALID_INPUT
    assert message in refused.value.message


def test_an_unknown_product_is_refused_at_the_edge() -> None:
    with pytest.raises(BadCommand) as refused:
        parse("lend_money", {}, PROFILE)
    assert refused.value.code is Code.UNKNOWN_PRODUCT


def test_a_number_looked_up_is_read_as_a_phone_unless_it_names_a_business() -> None:
    assert parse("name_lookup", {"number": "0712345678"}, PROFILE) == NameLookup(
        "254712345678", "msisdn"
    )
    till = parse("name_lookup", {"number": "300100", "kind": "till"}, PROFILE)
    assert till == NameLookup("300100", "till")
    with pytest.raises(BadCommand, match="number: "):
        parse("name_lookup", {"number": "300100"}, PROFILE)


def _example(kind: Kind) -> str:
    return {Kind.TEXT: "AB12", Kind.AMOUNT: "12.50", Kind.MSISDN: "0712345678"}[kind]


@pytest.mark.parametrize("product", sorted(COMMANDS))
def test_every_command_crosses_the_bus_unchanged(product: str) -> None:
    fields = {field.name: _example(field.kind) for field in shape(COMMANDS[product])}
    if product == "name_lookup":
        fields["kind"] = "till"
    if product == "split_bill":
        fields.update(friends="0712345678, 0722000111", shares="10, 2.50")
    command = parse(product, fields, PROFILE)
    request = Request(f"r:{product}", Channel.API, product, "254712345678", command)
    again, _, _ = request_from(request_bytes(request, 1))
    assert again == request
    assert again.fingerprint() == request.fingerprint()


def test_a_split_bill_is_read_into_numbers_and_minor_units() -> None:
    fields = {"friends": "0712345678, 0722000111,0733000222", "total": "100"}
    bill = parse("split_bill", fields, PROFILE)
    assert bill == SplitBill("254712345678,254722000111,254733000222", 10_000, "", "")
    assert bill.split() == [
        ("254712345678", 3_334),
        ("254722000111", 3_333),
        ("254733000222", 3_333),
    ]
    shares = parse("split_bill", {**fields, "shares": "50, 30.50, 19.50"}, PROFILE)
    assert shares.split() == [
        ("254712345678", 5_000),
        ("254722000111", 3_050),
        ("254733000222", 1_950),
    ]


@given(st.integers(1, 10**12), st.integers(1, 30))
def test_an_equal_split_adds_up_and_differs_by_a_cent_at_most(total: int, friends: int) -> None:
    numbers = ",".join(str(254712000000 + index) for index in range(friends))
    shares = [share for _, share in SplitBill(numbers, total).split()]
    assert sum(shares) == total
    assert len(shares) == friends
    assert max(shares) - min(shares) <= 1
    # The cents left over go to the first friends listed.
    assert shares == sorted(shares, reverse=True)


def test_the_bus_refuses_a_command_of_the_wrong_shape() -> None:
    request = Request("r", Channel.API, "send_money", "254712345678", PayPerson("254712345678", 5))
    good = request_bytes(request, 1).decode()
    for bad in (
        good.replace('"amount":5', '"amount":"5"'),
        good.replace('"amount":5', '"amount":true'),
        good.replace(',"amount":5', ""),
        good.replace('"send_money"', '"lend_money"'),
        good.replace('"to":"254712345678"', '"to":7'),
    ):
        with pytest.raises(WireError):
            request_from(bad.encode())


@given(st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=40))
def test_any_text_either_parses_or_is_refused_clearly(fields: dict[str, str]) -> None:
    for product in ("send_money", "pay_bill", "register", "b2c", "name_lookup"):
        try:
            command = parse(product, fields, PROFILE)
        except BadCommand as refused:
            assert refused.code is Code.INVALID_INPUT and refused.message
            continue
        assert from_wire(product, command.wire()) == command


@pytest.mark.parametrize("product", sorted(ROUTES))
def test_each_api_body_carries_its_products_fields(product: str) -> None:
    # The native API's body for a product holds the command's fields, and no others
    # (beside who asks and their secrets: the PIN, and a step-up's one-time code).
    body = ROUTES[product][1]
    sent = set(body.model_fields) - {"msisdn", "pin", "new_pin", "otp"}
    fields = shape(COMMANDS[product])
    names = {field.name for field in fields}
    assert {name.removesuffix("_minor") for name in sent} <= names, sent - names
    required = {field.name for field in fields if field.required}
    assert required <= {name.removesuffix("_minor") for name in sent}


def test_a_command_is_immutable() -> None:
    command: Any = PayPerson("254712345678", 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        command.amount = 6
