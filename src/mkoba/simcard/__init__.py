"""What a SIM-toolkit SIM and the server both speak (issue 18; docs/sim.md).

The per-SIM keys (``keys.py``); the secured command and response packets,
which mirror ETSI TS 102 225 with AES-GCM (``packet.py``, refusals and their
proof-of-receipt statuses in ``refusals.py``); packets in concatenated 8-bit
SMS (``concat.py``); the applet's request and answer (``applet.py``); a role's
menu as the SIM stores it (``menus.py``) and pushed in chunks (``chunks.py``);
STK prompts pushed to the SIM (``prompt.py``); and the SIM's own side: its
state and what it does (``card.py``), walking its menu (``walk.py``). The
server's side is ``channels/sim``; the terminal SIM is ``mkoba phone --sim``.
"""
