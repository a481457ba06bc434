"""Sending an enrolment code: a TranProc request whose command carries the code sealed.

The code is sealed under the transport key for this request alone (as a PIN
is) and opened only by the ``app_code`` product, which queues it as a secret
SMS (sealed in the outbox too). Neither the bus, nor the request's fingerprint,
nor its stored row ever holds it in clear.
"""

from __future__ import annotations

import logging
import secrets
import time

from mkoba.channels.app.validation.keys import b64url
from mkoba.commands.catalog import AppCode
from mkoba.parties import Pin, SecretKey, seal_pin
from mkoba.ports import Submit, Unavailable
from mkoba.processor.request import Channel, Request

log = logging.getLogger("mkoba.app.validation")
PRODUCT = "app_code"


class CodeSender:
    """Asks TranProc to text a code to a number; the outcome is only logged (no probing)."""

    def __init__(self, request: Submit, transport_key: SecretKey) -> None:
        self._request = request
        self._transport_key = transport_key

    def request_for(self, msisdn: str, code: str) -> Request:
        """The request that texts ``code`` to ``msisdn`` (sealed for its own id)."""
        request_id = f"app-code:{secrets.token_hex(12)}"
        sealed = seal_pin(Pin(code), self._transport_key, AppCode.context(request_id))
        command = AppCode(b64url(sealed.blob))
        return Request(request_id, Channel.APP, PRODUCT, msisdn, command, None, time.time_ns())

    async def send(self, msisdn: str, code: str) -> bool:
        """Whether TranProc queued the SMS: False for a number that is no customer's, too."""
        request = self.request_for(msisdn, code)
        try:
            response = await self._request(request)
        except Unavailable:
            log.warning("app code request %s: TranProc unavailable", request.id)
            return False
        if not response.ok:
            # The code says why (not registered, today's cap); never the app's business.
            log.info("app code request %s not sent: %s", request.id, response.code)
        return response.ok
