"""The USSD channel: gateway adapters, a menu engine, and menus as versioned data.

``UssdChannel`` (``channel.py``) is built by the composition root with the ports
it uses; its ``mount`` adds the routes, ``start`` loads the menus and starts the
session store, ``stop`` ends every session. See docs/ussd.md.
"""

from __future__ import annotations

from mkoba.channels.ussd.channel import UssdChannel

__all__ = ["UssdChannel"]
