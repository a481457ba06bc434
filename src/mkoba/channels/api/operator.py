"""The operator's command line reaching a running server: ``mkoba staff unlock``.

Whoever can read the server's keys directory is the operator (the same trust as
the PIN key: they could read every verifier's key). The command signs its
request with ``operator.key`` (HMAC-SHA-256 over the path, the time and the
body) and the server checks the signature in constant time, refuses one older
than ``signature_age_s_max`` or seen before, and hands the request to TranProc
on the system channel, where only such products run (``Proof.OPERATOR``).
The route is not in the OpenAPI document: nobody without the key can use it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.requests import Request as HttpRequest

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import InvalidMsisdn, SecretKey, load_or_create_key, normalize_msisdn
from mkoba.processor.request import Channel, Request
from mkoba.text import storable

if TYPE_CHECKING:
    from mkoba.ports import Submit

UNLOCK_PATH = "/operator/v1/staff/unlock"
SIGNATURE_HEADER = "x-mkoba-operator"
# A signed request older (or further ahead) than this is refused: clocks of one machine.
signature_age_s_max = 120
# Signatures remembered to refuse a replay within that window.
seen_signatures_max = 10_000


def key_path(keys_dir: Path) -> Path:
    """Where the operator key lives, beside the PIN and transport keys."""
    return keys_dir / "operator.key"


def sign(key: SecretKey, path: str, at_ns: int, body: bytes) -> str:
    """The signature the server expects for ``body`` sent to ``path`` at ``at_ns``."""
    message = b"\n".join((path.encode(), str(at_ns).encode(), body))
    return f"{at_ns}.{hmac.new(key.reveal(), message, hashlib.sha256).hexdigest()}"


def mount(app: FastAPI, submit: Submit, keys_dir: Path) -> None:
    """Serve the operator's routes (on a core, not a front), requests going to ``submit``."""
    key = load_or_create_key(key_path(keys_dir))
    seen: OrderedDict[str, None] = OrderedDict()

    @app.post(UNLOCK_PATH, include_in_schema=False)
    async def unlock(http: HttpRequest) -> JSONResponse:
        body = await http.body()
        problem = _check(key, seen, http.headers.get(SIGNATURE_HEADER, ""), body)
        if problem is not None:
            return _answer(Code.NOT_ALLOWED, problem, 401)
        try:
            fields = json.loads(body)
            staff = normalize_msisdn(str(fields["staff"]))
            user = str(fields.get("user", "?"))[:64]
        except (ValueError, KeyError, TypeError, InvalidMsisdn):
            return _answer(Code.INVALID_INPUT, 'send {"staff": MSISDN, "user": NAME}', 400)
        if not storable(user):
            user = "?"
        request = Request(
            f"operator:unlock:{staff}:{time.time_ns()}",
            Channel.SYSTEM,
            "operator_unlock",
            staff,
            commands.OperatorUnlock(staff, user),
            None,
            time.time_ns(),
        )
        response = await submit(request)
        return _answer(response.code, response.message, response.code.http_status)


def _check(key: SecretKey, seen: OrderedDict[str, None], header: str, body: bytes) -> str | None:
    """Why a signed request is refused, or None."""
    at_text, _, _ = header.partition(".")
    if not at_text.isdigit() or len(at_text) > 20:
        return "sign the request with the operator key (mkoba staff unlock)"
    at_ns = int(at_text)
    if abs(time.time_ns() - at_ns) > signature_age_s_max * 1_000_000_000:
        return "the signature is too old (or the clock is wrong)"
    expected = sign(key, UNLOCK_PATH, at_ns, body)
    if not hmac.compare_digest(expected.encode(), header.encode()):
        return "sign the request with the operator key (mkoba staff unlock)"
    if header in seen:
        return "that signed request was already used"
    seen[header] = None
    while len(seen) > seen_signatures_max:
        seen.popitem(last=False)
    return None


def _answer(code: Code, message: str, status: int) -> JSONResponse:
    return JSONResponse({"ok": code.ok, "code": str(code), "message": message}, status_code=status)
