"""A command: one product's typed input, parsed once where the request enters.

Each command is a frozen dataclass whose fields are annotated ``Text``, ``Amount``
or ``Msisdn`` (``fields.py``); a field with a default is optional. ``parse``
reads one from a channel's text, ``from_wire`` reads one back from the bus
(typed JSON values, checked for their type and nothing more: the edge parsed
them), and ``wire`` is the form that crosses the bus and names a request for
replays.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, NamedTuple, Self

from mkoba.catalog import Profile
from mkoba.commands.fields import (
    Kind,
    invalid,
    read_amount,
    read_msisdn,
    read_text,
    text_length_max,
)
from mkoba.text import storable

# A channel sends at most this many fields for one request.
fields_count_max = 32

Text = Annotated[str, Kind.TEXT]
Amount = Annotated[int, Kind.AMOUNT]
Msisdn = Annotated[str, Kind.MSISDN]


class Field(NamedTuple):
    """One field of a command: its name, kind and whether it must be given."""

    name: str
    kind: Kind
    required: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Command:
    """The typed input of a product; subclasses name the products they serve."""

    products: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def parse(cls, fields: Mapping[str, str], profile: Profile) -> Self:
        """Read this command from text fields.

        Names it does not know are ignored once their text is found storable: text
        that cannot be stored is refused wherever it comes, so no field slips past.
        """
        if len(fields) > fields_count_max:
            raise invalid("too many fields")
        for name in fields:
            if not isinstance(name, str) or len(name) > text_length_max or not storable(name):
                raise invalid("field names are plain text")
            read_text(fields, name, required=False)
        values: dict[str, Any] = {}
        for field in shape(cls):
            if field.kind is Kind.AMOUNT:
                values[field.name] = read_amount(fields, field.name, profile.currency)
            elif field.kind is Kind.MSISDN:
                values[field.name] = read_msisdn(
                    fields, field.name, profile.country, required=field.required
                )
            else:
                values[field.name] = read_text(fields, field.name, required=field.required)
        return cls(**values).refined(profile)

    def refined(self, profile: Profile) -> Self:
        """Checks and normal forms that depend on several fields (none by default)."""
        return self

    @classmethod
    def from_wire(cls, body: Mapping[str, object]) -> Self:
        """A command from its bus form; ``BadCommand`` when a field has the wrong type."""
        values: dict[str, Any] = {}
        for field in shape(cls):
            value = body.get(field.name, None if field.required else _EMPTY[field.kind])
            wanted = int if field.kind is Kind.AMOUNT else str
            if type(value) is not wanted:
                raise invalid(f"{field.name}: expected {wanted.__name__}")
            values[field.name] = value
        return cls(**values)

    def wire(self) -> dict[str, str | int]:
        """The fields, as JSON values, in declaration order."""
        return {field.name: getattr(self, field.name) for field in shape(type(self))}

    def texts(self) -> list[tuple[str, str]]:
        """The text fields and their values: what the processor checks can be stored."""
        return [
            (field.name, getattr(self, field.name))
            for field in shape(type(self))
            if field.kind is not Kind.AMOUNT
        ]


_EMPTY: dict[Kind, object] = {Kind.TEXT: "", Kind.MSISDN: "", Kind.AMOUNT: 0}


_SHAPES: dict[type[Command], tuple[Field, ...]] = {}


def shape(cls: type[Command]) -> tuple[Field, ...]:
    """A command class's fields, read once from its annotations."""
    found = _SHAPES.get(cls)
    if found is None:
        found = _SHAPES[cls] = _read_shape(cls)
    return found


def _read_shape(cls: type[Command]) -> tuple[Field, ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    found = []
    for item in dataclasses.fields(cls):
        metadata = getattr(hints[item.name], "__metadata__", ())
        kinds = [kind for kind in metadata if isinstance(kind, Kind)]
        if len(kinds) != 1:
            raise TypeError(f"{cls.__name__}.{item.name}: annotate it Text, Amount or Msisdn")
        required = item.default is dataclasses.MISSING
        if kinds[0] is Kind.AMOUNT and not required:
            raise TypeError(f"{cls.__name__}.{item.name}: an amount is always required")
        found.append(Field(item.name, kinds[0], required))
    return tuple(found)
