"""The rows a regulatory report is made of: receipts with the parties they name.

TranProc's receipts (``processor.history``) say who paid whom, how much and when;
the directory says who those parties are. A report line joins the two once, so the
XML and the CSV of one report are written from the same rows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from mkoba.money import Currency
from mkoba.parties import Party, PartyKind
from mkoba.processor.history import Receipt

# The products in which an agent takes cash in or pays cash out.
CASH_IN_PRODUCTS = ("deposit",)
CASH_OUT_PRODUCTS = ("withdraw",)
# Parties that are people (goAML's ``t_person``); every other kind is an entity.
PERSON_KINDS = frozenset({PartyKind.CUSTOMER, PartyKind.AGENT_ASSISTANT, PartyKind.STAFF})


class PartyLookup(Protocol):
    """The directory, read-only, as far as a report needs it."""

    def get(self, party_id: int) -> Party | None:
        """The party with this id, or None."""


class Cash(enum.StrEnum):
    """Which way cash crossed the agent's counter, if it did."""

    IN = "cash_in"
    OUT = "cash_out"
    NONE = ""


@dataclass(frozen=True, slots=True)
class Named:
    """A party as a report names it (no secret: the ID number is stored only as a digest)."""

    party_id: int
    kind: str
    name: str
    # Canonical MSISDN, '' when the party has no phone.
    msisdn: str
    # Agent store, till or paybill number, '' when none.
    number: str

    @property
    def person(self) -> bool:
        """Whether goAML reports this party as a person (else as an entity)."""
        return self.kind in PERSON_KINDS


@dataclass(frozen=True, slots=True)
class Line:
    """One receipt in a report, with its payer and payee named."""

    receipt: str
    product: str
    cash: Cash
    # When it completed (ns since the epoch, UTC).
    completed: int
    # Minor units.
    amount: int
    payer: Named
    payee: Named

    @property
    def customer(self) -> Named:
        """The customer of a cash line: the payee of a cash-in, the payer of a cash-out."""
        assert self.cash is not Cash.NONE, self.receipt
        return self.payee if self.cash is Cash.IN else self.payer

    @property
    def agent(self) -> Named:
        """The agent store of a cash line."""
        assert self.cash is not Cash.NONE, self.receipt
        return self.payer if self.cash is Cash.IN else self.payee


def named(parties: PartyLookup, party_id: int) -> Named:
    """The party ``party_id`` as a report names it (a placeholder if the directory lacks it)."""
    party = parties.get(party_id)
    if party is None:
        return Named(party_id, "unknown", f"party {party_id}", "", "")
    return Named(party.id, str(party.kind), party.name, party.msisdn or "", party.number or "")


def cash_of(product: str) -> Cash:
    """Whether ``product`` moves cash at an agent, and which way."""
    if product in CASH_IN_PRODUCTS:
        return Cash.IN
    if product in CASH_OUT_PRODUCTS:
        return Cash.OUT
    return Cash.NONE


def line_of(receipt: Receipt, parties: PartyLookup) -> Line:
    """A receipt as a report line."""
    return Line(
        receipt.receipt,
        receipt.product,
        cash_of(receipt.product),
        receipt.completed,
        receipt.amount,
        named(parties, receipt.payer_id),
        named(parties, receipt.payee_id),
    )


def major(amount: int, currency: Currency) -> str:
    """Minor units as a decimal in major units (``1940000`` KES cents -> ``19400.00``)."""
    assert type(amount) is int, amount
    assert amount >= 0, amount
    per = currency.minor_per_major
    if currency.scale == 0:
        return str(amount)
    return f"{amount // per}.{amount % per:0{currency.scale}d}"


def local_time(ns: int, zone: ZoneInfo) -> datetime:
    """An instant (ns, UTC) as wall-clock time in ``zone``, to the second."""
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=zone)
