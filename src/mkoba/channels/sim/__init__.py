"""The SIM-toolkit channel (issue 18): the M-PESA menu on the SIM, encrypted SMS to TranProc.

The menu lives on the SIM, the PIN is typed into the SIM, and the request leaves
as a secured packet in 8-bit binary SMS; TranProc's side opens it, acts, and
answers with a secured response (a proof of receipt). Menus are pushed over the
air the same way.

This first part is pure code, wired into nothing yet: the per-SIM keys
(``keys.py``), the secured command and response packets, which mirror the fields
of ETSI TS 102 225 with AES-GCM for the cryptography (``packet.py``, refusals
and their proof-of-receipt status codes in ``refusals.py``), and the split of a
packet into concatenated SMS and the join back (``concat.py``). The second part,
still transport-free: the cards and their durable counters (``schema.py``,
``cards.py``, ``mkoba sims`` in ``cli.py``), the applet's request and answer
(``applet.py``) and the server from packet to TranProc and back (``server.py``).
See docs/sim.md.
"""

from __future__ import annotations
