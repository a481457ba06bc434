"""The smartphone channel's validation server (docs/app.md, "The validation server").

Between the app and TranProc: enrolment codes, device bindings, signed
requests, and payment codes' tokens. ``Validator`` is its whole interface
(``ValidationServer``); ``remote.py`` carries it across the bus.
"""

from __future__ import annotations

from mkoba.channels.app.validation.devices import Device
from mkoba.channels.app.validation.interface import ChargesServer, ValidationServer
from mkoba.channels.app.validation.refusals import AppRefused
from mkoba.channels.app.validation.schema import OWN_TABLES
from mkoba.channels.app.validation.tokens import IssuedCode
from mkoba.channels.app.validation.validator import Validator

__all__ = [
    "OWN_TABLES",
    "AppRefused",
    "ChargesServer",
    "Device",
    "IssuedCode",
    "ValidationServer",
    "Validator",
]
