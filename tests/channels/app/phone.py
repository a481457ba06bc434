"""A phone running the app, for tests: its own P-256 key, signing as WebCrypto signs.

WebCrypto's ECDSA signature is IEEE P1363 (r || s, 32 bytes each), not DER; the
public key goes as SPKI. ``AppPhone`` keeps the counter the app keeps and can
send a request with any counter (a replay) or any body (a tampered one).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

PREFIX = "/app/api/v1"


def b64url(data: bytes) -> str:
    """Base64url without padding, as the contract writes bytes."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def code_in(sms: str) -> str:
    """The six-digit code of an enrolment SMS."""
    found = re.search(r"\b(\d{6})\b", sms)
    assert found is not None, "no code in the SMS"
    return found[1]


class AppPhone:
    """One phone with the app: a device key, and once bound, its id and counter."""

    def __init__(self, client: httpx.AsyncClient, msisdn: str) -> None:
        self.client = client
        self.msisdn = msisdn
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.device = ""
        self.counter = 0

    def public_key(self) -> str:
        """The SPKI public key, base64url."""
        spki = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return b64url(spki)

    async def start(self) -> str:
        """Ask for a code; the enrolment id."""
        answer = await self.client.post(PREFIX + "/enrol", json={"msisdn": self.msisdn})
        assert answer.status_code == 202, answer.text
        return str(answer.json()["enrolment"])

    async def confirm(self, enrolment: str, code: str, pin: str) -> httpx.Response:
        """Finish binding; on success the phone keeps its device id."""
        answer = await self.client.post(
            PREFIX + "/enrol/confirm",
            json={
                "enrolment": enrolment,
                "code": code,
                "pin": pin,
                "public_key": self.public_key(),
                "device_name": "test phone",
            },
        )
        if answer.status_code == 201:
            self.device = answer.json()["device"]
            self.counter = answer.json()["counter"]
        return answer

    def signed(self, method: str, path: str, body: bytes, counter: int) -> dict[str, str]:
        """The three signing headers for a request."""
        digest = b64url(hashlib.sha256(body).digest())
        text = "\n".join(["mkoba-app-v1", method, path, self.device, str(counter), digest])
        der = self.key.sign(text.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return {
            "Mkoba-Device": self.device,
            "Mkoba-Counter": str(counter),
            "Mkoba-Signature": b64url(raw),
        }

    async def call(
        self,
        method: str,
        route: str,
        body: dict[str, Any] | None = None,
        *,
        counter: int | None = None,
        sign_body: bytes | None = None,
    ) -> httpx.Response:
        """A signed request; ``counter`` replays one, ``sign_body`` signs another body."""
        raw = b"" if body is None else json.dumps(body).encode()
        if counter is None:
            self.counter += 1
            counter = self.counter
        path = PREFIX + route
        headers = self.signed(method, path, raw if sign_body is None else sign_body, counter)
        headers["Content-Type"] = "application/json"
        return await self.client.request(method, path, content=raw, headers=headers)
