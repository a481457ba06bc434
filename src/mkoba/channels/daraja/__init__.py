"""The Daraja channel: Safaricom's Daraja API, field for field, on mkoba's ledger.

``DarajaChannel`` (``channel.py``) is built by the composition root with its
ports: its routes are at Daraja's own paths (and the handset's STK routes),
its start opens the channel (tables, registry) and settles what a stop left
open. A channel adapter only: Daraja requests become TranProc requests,
TranProc's responses become Daraja's answers and callbacks. See docs/daraja.md.

Split in two processes (``--role``): the front serves the routes and owns the
prompts and conversations; the core sends the callbacks, validates and
confirms C2B payments, and commits the rows the front sends it, those of the
channel's own tables only.
"""

from __future__ import annotations

from mkoba.channels.daraja.channel import DarajaChannel, front_rows

__all__ = ["DarajaChannel", "front_rows"]
