"""The operator console's staff API: staff sign in with a password and a TOTP code.

Served on a listener of its own (``MKOBA_CONSOLE_HOST``/``MKOBA_CONSOLE_PORT``), apart
from the public API, so an operator can keep it on an internal address. Sessions are
kept on the server (``mkoba.staff.sessions``); the browser holds only a random id in
an ``HttpOnly``, ``SameSite=Strict`` cookie, and every state-changing request sends the
session's anti-forgery token in ``X-CSRF-Token``. The back office in the browser and
the staff actions are built on these routes.
"""

from mkoba.channels.console.channel import ConsoleChannel

__all__ = ["ConsoleChannel"]
