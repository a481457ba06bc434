"""The SIM channel's table: which SIM (ICCID) speaks for which number, and its counters.

Owned by this package alone (``sim_`` tables); written only through
``Tables.submit`` (the ledger writer, in order with the money) or, by the
``mkoba sims`` admin commands, on the store directly. Rows are whole: each
change writes the card as the server holds it now (``UPSERT``). No key is
stored: a SIM's keys are derived from the master key and its ICCID
(``keys.py``), so a copy of the table opens no packet.

``mo_counter`` is the last counter accepted from the SIM (a packet at or below it
is a replay). ``mt_counter`` is the highest counter the server has *reserved*
for its own packets to the SIM: every counter it sealed is at or below it, and
after a restart it seals from ``mt_counter + 1`` on (``cards.py``).
"""

from __future__ import annotations

from typing import NamedTuple

from mkoba.ledger import Write, WriteMode

MIGRATION = "sim-0001"
SCHEMA = """
CREATE TABLE IF NOT EXISTS sim_cards (
    iccid TEXT PRIMARY KEY,
    msisdn TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    mo_counter BIGINT NOT NULL,
    mt_counter BIGINT NOT NULL,
    menu_role TEXT NOT NULL,
    menu_version INTEGER NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sim_cards_msisdn ON sim_cards (msisdn, state);
"""
# The tables, for the composition root (rows a front may have the core commit).
OWN_TABLES = ("sim_cards", "sim_menu_downloads")  # the second: downloads.py

ACTIVE = "active"
ENDED = "ended"
# Why a card ended: a new SIM for its number, staff, or its owner gave the number up.
REASONS = frozenset({"sim_swap", "staff", "closed"})


class CardRow(NamedTuple):
    """A SIM card as the table holds it (no key: keys are derived, never stored)."""

    iccid: str
    msisdn: str
    key_version: int
    state: str
    reason: str
    mo_counter: int
    mt_counter: int
    menu_role: str
    menu_version: int
    created: int
    updated: int


def card_write(row: CardRow) -> Write:
    """The card as it stands now."""
    return Write("sim_cards", tuple(row._fields), tuple(row), ("iccid",), WriteMode.UPSERT)


_COLUMNS = ", ".join(CardRow._fields)
ACTIVE_CARDS = f"SELECT {_COLUMNS} FROM sim_cards WHERE state = 'active'"
CARD_BY_ICCID = f"SELECT {_COLUMNS} FROM sim_cards WHERE iccid = ?"
CARDS_OF = f"SELECT {_COLUMNS} FROM sim_cards WHERE msisdn = ? ORDER BY updated DESC, iccid"
# Numbers whose active card replaced one ended by a SIM swap, with when it did.
SWAPPED = (
    "SELECT msisdn, MAX(created) FROM sim_cards WHERE state = 'active' AND msisdn IN"
    " (SELECT msisdn FROM sim_cards WHERE reason = 'sim_swap') GROUP BY msisdn"
)
ALL_CARDS = f"SELECT {_COLUMNS} FROM sim_cards ORDER BY msisdn, created, iccid"


def card_of(values: tuple[object, ...]) -> CardRow:
    """A card row read back (drivers differ in the types they return)."""
    t = [str(value) for value in values]
    return CardRow(
        t[0], t[1], int(t[2]), t[3], t[4], int(t[5]), int(t[6]), t[7], int(t[8]), int(t[9]),
        int(t[10]),
    )  # fmt: skip
