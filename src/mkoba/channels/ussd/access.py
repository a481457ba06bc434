"""Who may post USSD hops: the gateway, by its credential, and nobody else.

A hop names the phone that dialled (``phoneNumber``) and the engine acts for
that phone, so whoever can post hops can act for any phone. The gateway proves
itself with what ``MKOBA_USSD_GATEWAY_SECRET`` (header ``X-Gateway-Secret``)
or ``MKOBA_USSD_GATEWAY_BASIC`` (``user:password``, HTTP Basic: for gateways
that can only put a credential in the callback URL) configure; either one
configured is required, compared in constant time. With neither, the endpoint
is open when the platform runs with demo data (a laptop, ``mkoba serve``; the
start-up log says so) and closed otherwise: a production platform that forgot
the setting refuses hops rather than trusting any caller.

A simulated handset (``mkoba phone``) may post its own hops with its handset
credential (``parties/handsets.py``) while the simulated handsets are on (no
``MKOBA_SMPP``): the hop's ``phoneNumber`` must then be the credential's number.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hmac
from collections.abc import Iterable

from pydantic import SecretStr

from mkoba.parties.handsets import HandsetKey
from mkoba.settings import Settings

SECRET_HEADER = b"x-gateway-secret"
REFUSED = b"the USSD gateway's credential is needed"


class Policy(enum.StrEnum):
    """How the endpoint decides who may post hops."""

    CREDENTIAL = "credential"  # the gateway's configured credential
    OPEN = "open"  # anyone (demo data, no credential configured)
    CLOSED = "closed"  # nobody but simulated handsets (no demo, no credential)


class Access:
    """The USSD endpoint's check of a request's headers."""

    def __init__(
        self,
        secret: SecretStr | None,
        basic: SecretStr | None,
        demo: bool,
        handsets: HandsetKey | None,
    ) -> None:
        self._secret = secret.get_secret_value().encode() if secret else None
        self._basic = basic.get_secret_value().encode() if basic else None
        self.handsets = handsets
        if self._secret or self._basic:
            self.policy = Policy.CREDENTIAL
        else:
            self.policy = Policy.OPEN if demo else Policy.CLOSED

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        """The access the settings configure (handset credentials when simulated)."""
        handsets = None if settings.smpp else HandsetKey.load_or_create(settings.keys_dir)
        return cls(
            settings.ussd_gateway_secret, settings.ussd_gateway_basic, settings.demo, handsets
        )

    @property
    def realm(self) -> str:
        """The ``WWW-Authenticate`` challenge of a refusal."""
        return 'Basic realm="mkoba-ussd"' if self._basic else "Gateway-Secret"

    def gateway(self, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        """Whether the request comes from the gateway (always, when the endpoint is open)."""
        if self.policy is Policy.OPEN:
            return True
        secret = basic = None
        for name, value in headers:
            if name == SECRET_HEADER:
                secret = value
            elif name == b"authorization" and value[:6].lower() == b"basic ":
                basic = _basic(value[6:])
        # Each compared in constant time, and both always, so timing says nothing either.
        by_secret = self._secret is not None and hmac.compare_digest(secret or b"", self._secret)
        by_basic = self._basic is not None and hmac.compare_digest(basic or b"", self._basic)
        return by_secret or by_basic

    def handset(self, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
        """The number a simulated handset's credential proves, if it carries one."""
        if self.handsets is None:
            return None
        for name, value in headers:
            if name == b"authorization":
                return self.handsets.caller(value.decode("latin-1"))
        return None

    def describe(self) -> str:
        """One line for the start-up log: who can post hops."""
        if self.policy is Policy.CREDENTIAL:
            return "USSD gateway: the gateway's credential is required"
        if self.policy is Policy.OPEN:
            return (
                "USSD gateway: OPEN (demo): anyone who reaches /ussd/ can act for any phone;"
                " set MKOBA_USSD_GATEWAY_SECRET or MKOBA_USSD_GATEWAY_BASIC to require the"
                " gateway's credential"
            )
        return (
            "USSD gateway: CLOSED: no MKOBA_USSD_GATEWAY_SECRET or MKOBA_USSD_GATEWAY_BASIC"
            " is set, so every hop is refused"
            + (" (simulated handsets may dial with their credential)" if self.handsets else "")
        )


def _basic(encoded: bytes) -> bytes | None:
    try:
        return base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
