"""The phones of ``mkoba bench app``: bound devices that sign as the web app signs.

Each holds a P-256 key and signs the contract's text (``docs/app-protocol.md``)
with the raw r || s signature WebCrypto makes. Enrolment goes the way a person's
does: a code asked for, read from the phone's SMS inbox (the bench started the
server, so it holds the keys directory a developer's handset credential comes
from), then the code, the PIN and the public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from mkoba.bench.http import Connection
from mkoba.parties.handsets import HandsetKey

PREFIX = "/app/api/v1"


def b64url(data: bytes) -> str:
    """Base64url, no padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Phone:
    """One bound device: its number, key, id and counter."""

    def __init__(self, msisdn: str) -> None:
        self.msisdn = msisdn
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.device = ""
        self.counter = 0

    def headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        """The signing headers of the next request."""
        self.counter += 1
        digest = b64url(hashlib.sha256(body).digest())
        text = "\n".join(["mkoba-app-v1", method, path, self.device, str(self.counter), digest])
        r, s = decode_dss_signature(self.key.sign(text.encode(), ec.ECDSA(hashes.SHA256())))
        return {
            "Content-Type": "application/json",
            "Mkoba-Device": self.device,
            "Mkoba-Counter": str(self.counter),
            "Mkoba-Signature": b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big")),
        }

    async def call(
        self, connection: Connection, route: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """A signed POST on ``connection``; the status and the JSON answer."""
        raw = json.dumps(body).encode()
        status, answer = await connection.post(
            PREFIX + route, raw, self.headers("POST", PREFIX + route, raw)
        )
        return status, json.loads(answer) if answer else {}

    async def enrol(self, client: httpx.AsyncClient, keys: Path, pin: str) -> None:
        """Bind this phone: ask a code, read it from the SMS inbox, confirm with the PIN."""
        handset = HandsetKey.load(keys).credential(self.msisdn).header()
        inbox = f"/api/v1/sms/{self.msisdn}"
        before = len((await client.get(inbox, headers=handset)).json()["messages"])
        started = await client.post(PREFIX + "/enrol", json={"msisdn": self.msisdn})
        started.raise_for_status()
        code = ""
        for _ in range(200):
            messages = (await client.get(inbox, headers=handset)).json()["messages"]
            found = [re.search(r"\b(\d{6})\b", m["text"]) for m in messages[before:]]
            code = next((match[1] for match in found if match), "")
            if code:
                break
            await _pause()
        if not code:
            raise RuntimeError(f"no enrolment code reached {self.msisdn}")
        spki = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        answer = await client.post(
            PREFIX + "/enrol/confirm",
            json={
                "enrolment": started.json()["enrolment"],
                "code": code,
                "pin": pin,
                "public_key": b64url(spki),
                "device_name": "bench",
            },
        )
        if answer.status_code != 201:
            raise RuntimeError(f"binding {self.msisdn} failed: {answer.text}")
        self.device = answer.json()["device"]
        self.counter = int(answer.json()["counter"])


async def _pause() -> None:
    import asyncio

    await asyncio.sleep(0.05)
