"""Typed commands: what each product is asked, parsed once where a request enters.

A channel reads its own format, then ``parse`` turns the fields into the product's
command (amounts in minor units, phone numbers canonical) or refuses with
``BadCommand``, which the channel answers in its own format without asking
TranProc. The command crosses the bus as typed JSON (``Command.wire``); a product
receives it typed and parses nothing. Imports only money, text, codes, the
catalog's types and the phone-number reader.
"""

from __future__ import annotations

from collections.abc import Mapping

from mkoba.catalog import Profile
from mkoba.codes import Code
from mkoba.commands.base import Amount, Command, Field, Msisdn, Text, shape
from mkoba.commands.catalog import ALL
from mkoba.commands.fields import BadCommand, Kind, invalid

# The command each product takes, by product name.
COMMANDS: dict[str, type[Command]] = {
    product: command for command in ALL for product in command.products
}

__all__ = [
    "COMMANDS",
    "Amount",
    "BadCommand",
    "Command",
    "Field",
    "Kind",
    "Msisdn",
    "Text",
    "command_class",
    "from_wire",
    "parse",
    "shape",
]


def command_class(product: str) -> type[Command]:
    """The command ``product`` takes; ``BadCommand`` (unknown product) when there is none."""
    found = COMMANDS.get(product)
    if found is None:
        raise BadCommand(Code.UNKNOWN_PRODUCT, f"no product {product!r}")
    return found


def parse(product: str, fields: Mapping[str, str], profile: Profile) -> Command:
    """``product``'s command from a channel's text fields, or ``BadCommand``."""
    return command_class(product).parse(fields, profile)


def from_wire(product: str, body: object) -> Command:
    """``product``'s command from its bus form, or ``BadCommand``."""
    if not isinstance(body, dict):
        raise invalid("a command is an object")
    return command_class(product).from_wire(body)
