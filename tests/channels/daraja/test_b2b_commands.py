"""The B2B CommandIDs the Daraja edge accepts are exactly those the B2B product decides."""

from __future__ import annotations

from mkoba.channels.daraja.business import B2B_COMMANDS
from mkoba.products.business.b2b import MOVES, PAYMENTS


def test_the_edge_and_the_product_know_the_same_b2b_commands() -> None:
    assert sorted(B2B_COMMANDS) == sorted((*PAYMENTS, *MOVES))
    assert len(set(B2B_COMMANDS)) == len(B2B_COMMANDS)
