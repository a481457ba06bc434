"""The SIM-toolkit channel (issue 18): the M-PESA menu on the SIM, encrypted SMS to TranProc.

The menu lives on the SIM, the PIN is typed into the SIM, and the request leaves
as a secured packet in 8-bit binary SMS; TranProc's side opens it, acts, and
answers with a secured response (a proof of receipt). Menus are pushed over the
air the same way.

What the SIM and the server both speak (keys, packets, the applet's format,
menus and their chunks, prompts) is ``mkoba.simcard``. Here: the cards and their
durable counters (``schema.py``, ``cards.py``, ``mkoba sims`` in ``cli.py``); the
server from packet to TranProc and back (``server.py``); the channel the
composition root wires to the SMS channel's binary SMS (``channel.py``); menus
over the air (``ota.py``, ``downloads.py``); STK prompts pushed to the SIM
(``prompts.py``). The SIM in the terminal is ``mkoba phone --sim``.
See docs/sim.md.
"""

from __future__ import annotations
