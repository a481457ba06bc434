"""Failures injected into a running ``mkoba serve``, switched on and off by a file (tests only).

The canary test starts the server as ``python -c "import tests.security.faults as f;
f.install(); ..."`` with ``MKOBA_TEST_FAULTS`` naming a file; each word in that file
switches one fault on. Each fault raises *inside* the frames that hold a secret in
clear (a PIN's verifier message, a token or consumer secret being verified, the STK
password being compared), or in the call a route makes while its body is in hand, so
a traceback that showed local variables would show the secret. The exception's own
message names only the fault.

``install`` also makes staff resets issue six-digit temporary PINs instead of four:
the same code path, but a value distinctive enough to be searched for in a store full
of four-digit numbers (ids, amounts), so that chance cannot fail the test.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path
from typing import Any

SWITCH = "MKOBA_TEST_FAULTS"
# Faults and where they strike.
SUBMIT = "submit"  # Platform.request: every channel's submit to TranProc
PIN_HMAC = "pin-hmac"  # PinVault's HMAC, inside the verifier of the clear PIN
VAULT_PREFIX = "vault-"  # the Daraja vault's HMAC for one purpose: vault-token, vault-secret...
STK_PASSWORD = "stk-password"  # the STK password's comparison, beside the clear passkey
SMS_GATEWAY = "sms-gateway"  # the in-memory SMSC, holding an opened (secret) SMS body


class InjectedFault(RuntimeError):
    """A failure the test asked for."""


def on(fault: str) -> bool:
    """Whether ``fault`` is switched on now."""
    path = os.environ.get(SWITCH)
    if not path:
        return False
    try:
        return fault in Path(path).read_text(encoding="utf-8").split()
    except OSError:
        return False


def strike(fault: str) -> None:
    """Raise when ``fault`` is on."""
    if on(fault):
        raise InjectedFault(f"injected fault: {fault}")


class _Hmac:
    """The ``hmac`` module as one module sees it, failing where a fault says."""

    def __init__(self, new_fault: str | None = None, compare_fault: str | None = None) -> None:
        self.new_fault = new_fault
        self.compare_fault = compare_fault

    def new(self, key: bytes, message: bytes, digestmod: Any) -> Any:
        if self.new_fault == VAULT_PREFIX:
            # The vault's message is purpose NUL secret: fail for that purpose only.
            strike(VAULT_PREFIX + message.partition(b"\0")[0].decode())
        elif self.new_fault is not None:
            strike(self.new_fault)
        return hmac.new(key, message, digestmod)

    def compare_digest(self, a: Any, b: Any) -> bool:
        if self.compare_fault is not None:
            strike(self.compare_fault)
        return hmac.compare_digest(a, b)


TEMPORARY_PIN_DIGITS = 6


def install() -> None:
    """Put the faults in place (before the platform is built); longer temporary PINs."""
    from mkoba import app
    from mkoba.channels.daraja import http, vault
    from mkoba.outbox import memory
    from mkoba.parties import pins
    from mkoba.products import pin_admin

    pin_admin.temporary_pin_digits = TEMPORARY_PIN_DIGITS

    pins.hmac = _Hmac(new_fault=PIN_HMAC)  # type: ignore[attr-defined,assignment]
    vault.hmac = _Hmac(new_fault=VAULT_PREFIX)  # type: ignore[attr-defined,assignment]
    http.hmac = _Hmac(compare_fault=STK_PASSWORD)  # type: ignore[attr-defined,assignment]

    request = app.Platform.request

    async def failing_request(self: Any, tranproc_request: Any) -> Any:
        strike(SUBMIT)
        return await request(self, tranproc_request)

    app.Platform.request = failing_request  # type: ignore[method-assign,assignment]

    send = memory.MemorySmsc.send

    async def failing_send(self: Any, message: Any) -> Any:
        strike(SMS_GATEWAY)
        return await send(self, message)

    memory.MemorySmsc.send = failing_send  # type: ignore[method-assign]
