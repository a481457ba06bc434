"""Phones for the validation server's tests: customers, their SMS, and WebCrypto-like keys.

A ``Phone`` signs as the app does in a browser: an ECDSA P-256 key (WebCrypto's
``sign`` gives the raw ``r || s``, 64 bytes, which the app sends in base64url),
and a public key exported as SPKI DER. The code it enrols with is read where a
person reads it: in the SMS that reached the platform's in-memory SMSC.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from mkoba.app import Platform
from mkoba.channels.app.validation import Device, Validator
from mkoba.tables import Tables
from tests.products.world import World

_NS = 1_000_000_000


def b64url(data: bytes) -> str:
    """Base64url without padding, as the app writes it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Clock:
    """The platform's clock, moved on by the test."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.offset = 0

    def __call__(self) -> int:
        return self.platform.clock() + self.offset

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        self.offset += int(seconds * _NS)


def spki(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The public key as WebCrypto exports it (``exportKey("spki")``)."""
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def webcrypto_sign(key: ec.EllipticCurvePrivateKey, message: bytes) -> str:
    """What WebCrypto's ECDSA P-256/SHA-256 ``sign`` gives: ``r || s``, in base64url."""
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    return b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def signed_text(method: str, path: str, device: str, counter: int, body: bytes) -> bytes:
    """The contract's text, written out here again (not taken from the code under test)."""
    digest = b64url(hashlib.sha256(body).digest())
    return f"mkoba-app-v1\n{method}\n{path}\n{device}\n{counter}\n{digest}".encode()


@dataclass
class Phone:
    """A customer's phone with the app: its number, key, device and counter."""

    msisdn: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    device: Device | None = None
    counter: int = 0

    @property
    def device_id(self) -> str:
        assert self.device is not None, "bind the phone first"
        return self.device.id

    def sign(
        self, body: bytes = b"{}", path: str = "/app/api/v1/me", method: str = "POST"
    ) -> tuple[str, str, str, str, str, bytes]:
        """The next signed request's arguments for ``Validator.verify``."""
        self.counter += 1
        text = signed_text(method, path, self.device_id, self.counter, body)
        signature = webcrypto_sign(self.key, text)
        return self.device_id, str(self.counter), signature, method, path, body


@dataclass
class Phones:
    """A started validator on a platform, and the customers' phones using it."""

    platform: Platform
    world: World
    clock: Clock
    validator: Validator

    @classmethod
    async def start(cls, platform: Platform, world: World, clock: Clock) -> Phones:
        """A validator as the app channel builds it, started."""
        return cls(platform, world, clock, await cls.validator_on(platform, clock))

    @staticmethod
    async def validator_on(platform: Platform, clock: Clock) -> Validator:
        """A fresh validator on the platform's tables (a restart reads what is stored)."""
        tables = Tables(lambda: platform.services.store, lambda: platform.rows)
        validator = Validator(
            tables, platform.request, platform.settings.keys_dir, clock, platform.transport_key
        )
        await validator.start()
        return validator

    async def codes(self, msisdn: str, count: int = 1) -> list[str]:
        """The app codes ``msisdn``'s handset got, once there are ``count`` (waits for them)."""
        for _ in range(500):
            self.platform.outbox.poke()
            found = [
                match[1]
                for sms in self.platform.smsc.inbox(msisdn)
                if (match := re.search(r"app code is ([0-9]{6})\.", sms.body))
            ]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.01)
        raise AssertionError(f"{msisdn} got fewer than {count} app codes")

    async def code(self, msisdn: str, count: int = 1) -> str:
        """The code in the ``count``-th app code SMS to ``msisdn``, as the customer reads it."""
        return (await self.codes(msisdn, count))[count - 1]

    def codes_now(self, msisdn: str) -> int:
        """How many app codes ``msisdn``'s handset has now."""
        return sum("app code is" in sms.body for sms in self.platform.smsc.inbox(msisdn))

    async def customer(self) -> Phone:
        """A registered customer's phone, not yet bound."""
        party = await self.world.customer(100)
        assert party.msisdn
        return Phone(party.msisdn)

    async def bound(self, phone: Phone | None = None) -> Phone:
        """A phone enrolled as the app does: the SMS code, then the key (the PIN is TranProc's)."""
        phone = phone or await self.customer()
        count = self.codes_now(phone.msisdn) + 1
        enrolment, _ = await self.validator.enrol(phone.msisdn)
        code = await self.code(phone.msisdn, count)
        assert await self.validator.check_code(enrolment, code) == phone.msisdn
        phone.device = await self.validator.bind(enrolment, spki(phone.key), "Pixel 8")
        phone.counter = 0
        return phone
