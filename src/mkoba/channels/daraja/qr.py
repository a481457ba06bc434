"""Dynamic QR: a PNG a customer's app scans to pay (till, paybill, agent, number).

Daraja does not say what the code holds; mkoba's app reads
``mkoba:qr:1;<TrxCode>;<CPI>;<Amount>;<RefNo>;<MerchantName>``. The credit
party is checked against the directory, so a code never names a till or
paybill that does not exist. No money moves and nothing is stored.
"""

from __future__ import annotations

import base64
import io
import secrets
from typing import Any

import segno
from starlette.requests import Request as HttpRequest

from mkoba.channels.daraja.body import Body
from mkoba.channels.daraja.envelope import DarajaError
from mkoba.channels.daraja.http import authenticate, channel, endpoint
from mkoba.channels.daraja.state import Daraja
from mkoba.parties import PartyKind

TRX_CODES = ("BG", "WA", "PB", "SM", "SB")
# The image's side in pixels: Daraja's samples use 300.
size_min = 64
size_max = 1024
_QUIET_ZONE = 4


def _credit_party_exists(daraja: Daraja, code: str, cpi: str) -> bool:
    directory = daraja.directory
    if code == "BG":
        return directory.by_number(PartyKind.MERCHANT, cpi) is not None
    if code == "PB":
        return directory.by_number(PartyKind.ORGANISATION, cpi) is not None
    if code == "WA":
        return directory.by_number(PartyKind.AGENT_STORE, cpi) is not None or any(
            store.number == f"{cpi}/1" for store in directory.of_kind(PartyKind.AGENT_STORE)
        )
    return directory.by_msisdn(cpi) is not None


def png(payload: str, size: int) -> bytes:
    """A QR code of ``payload`` as a PNG about ``size`` pixels wide."""
    code = segno.make(payload, error="m")
    modules = code.symbol_size(scale=1, border=_QUIET_ZONE)[0]
    out = io.BytesIO()
    code.save(out, kind="png", scale=max(1, size // modules), border=_QUIET_ZONE)
    return out.getvalue()


@endpoint
async def generate(request: HttpRequest) -> dict[str, Any]:
    """``POST /mpesa/qrcode/v1/generate``."""
    daraja = channel(request)
    authenticate(daraja, request, "c2b", "qr")
    body = await Body.read(request)
    merchant = body.text("MerchantName", length_max=100)
    reference = body.text("RefNo", length_max=100)
    amount = body.amount("Amount")
    code = body.choice("TrxCode", TRX_CODES)
    cpi = body.digits("CPI")
    size = int(body.digits("Size", required=False) or "300")
    if not size_min <= size <= size_max:
        raise DarajaError.field("Size")
    if not _credit_party_exists(daraja, code, cpi):
        raise DarajaError.field("CPI")
    payload = f"mkoba:qr:1;{code};{cpi};{amount};{reference};{merchant}"
    image = png(payload, size)
    return {
        "ResponseCode": "00",
        "RequestID": f"{secrets.randbelow(90000) + 10000}-{secrets.randbelow(10**8)}-1",
        "ResponseDescription": "QR Code Successfully Generated.",
        "QRCode": base64.b64encode(image).decode(),
    }
