"""The smartphone channel: the web app at ``/app``, device binding, payment codes (EMVCo QR)
and the validation server between the app and TranProc (``docs/app.md``,
``docs/app-protocol.md``).
"""

from mkoba.channels.app.channel import AppChannel

__all__ = ["AppChannel"]
