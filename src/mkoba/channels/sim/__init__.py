"""The SIM-toolkit channel (issue 18): the M-PESA menu on the SIM, encrypted SMS to TranProc.

The menu lives on the SIM, the PIN is typed into the SIM, and the request leaves
as a secured packet in 8-bit binary SMS; TranProc's side opens it, acts, and
answers with a secured response (a proof of receipt). Menus are pushed over the
air the same way.

The per-SIM keys (``keys.py``); the secured command and response packets,
which mirror the fields of ETSI TS 102 225 with AES-GCM for the cryptography
(``packet.py``, refusals and their proof-of-receipt status codes in
``refusals.py``); the split of a packet into concatenated SMS and the join back
(``concat.py``); the cards and their durable counters (``schema.py``,
``cards.py``, ``mkoba sims`` in ``cli.py``); the applet's request and answer
(``applet.py``); the server from packet to TranProc and back (``server.py``);
the channel the composition root wires to the SMS channel's binary SMS
(``channel.py``); menus over the air: a role's menu as the SIM stores it
(``menus.py``) pushed in chunks that resume (``ota.py``, ``downloads.py``).
Still to come: the terminal SIM applet and the STK push over the SIM.
See docs/sim.md.
"""

from __future__ import annotations
