"""A new (or reset) member of staff enrols: their own password and TOTP, with a one-time token.

Reachable without signing in, and only with a token that still works
(``staff/enrolment.py``). Opening it shows the TOTP seed to enrol (as a QR code and
as text); completing it takes the password and a first code from the
authenticator. The password check is argon2id, so it waits its turn with the
sign-ins (``console.checks``). Every attempt is in the audit trail, without the
token, the password, the code or the seed.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, NamedTuple

import segno
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import escape

from mkoba.channels.console.auth import Refusal
from mkoba.staff import accounts, enrolment
from mkoba.staff.credentials import WeakPassword, totp_uri

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

EXPIRED = "This enrolment link has expired, was used already, or was replaced by a newer one."


class Opened(NamedTuple):
    """What the enrolment page shows the token's holder."""

    username: str
    name: str
    role: str
    seed: str
    uri: str
    qr_svg: str
    expires: int


async def opened(console: ConsoleChannel, token: str, where: str) -> Opened:
    """The account and the seed ``token`` enrols; ``Refusal`` 404 when it does not work.

    Showing the seed is audited (the entry names the account, never the token or seed).
    """
    found, account = await _found(console, token, where)
    await console.trail.append(
        time.time_ns(),
        "staff.enrol",
        "opened",
        actor_id=account.id,
        actor=account.username,
        role=account.role,
        origin=where,
        entity=f"staff:{account.username}",
    )
    uri = totp_uri(found.seed, account.username)
    svg = segno.make(uri, error="m").svg_inline(scale=4, title="TOTP enrolment")
    return Opened(account.username, account.name, account.role, found.seed, uri, svg, found.expires)


async def complete(
    console: ConsoleChannel, token: str, password: str, code: str, where: str
) -> accounts.StaffAccount:
    """Enrol with the chosen password and the authenticator's first code."""
    found, account = await _found(console, token, where)
    entity = f"staff:{account.username}"

    async def audit(outcome: str) -> None:
        await console.trail.append(
            time.time_ns(),
            "staff.enrol",
            outcome,
            actor_id=account.id,
            actor=account.username,
            role=account.role,
            origin=where,
            entity=entity,
        )

    async with console.checks:
        try:
            writes = await asyncio.to_thread(
                enrolment.complete,
                console.key,
                found,
                password,
                code,
                console.now(),
                time.time_ns(),
            )
        except enrolment.NotEnrolled as problem:
            await audit("wrong_code")
            raise Refusal(422, str(problem)) from None
        except WeakPassword as problem:
            await audit("weak_password")
            raise Refusal(422, f"Choose another password: {problem}.") from None
    # One at a time (``console.enrolling``): a token is spent once, however many post it.
    async with console.enrolling:
        await _found(console, token, where)  # still unspent: no other post took it meanwhile
        await console.tables.submit(writes)
    await audit("enrolled")
    return account


async def _found(
    console: ConsoleChannel, token: str, where: str
) -> tuple[enrolment.Enrolment, accounts.StaffAccount]:
    found = await console.read(enrolment.find, console.key, token, time.time_ns())
    account = (
        await console.read(accounts.by_id, console.key, found.staff_id)
        if found is not None
        else None
    )
    if found is None or account is None:
        # Audited as a refused sign-in is: who tried, from where (the token is not kept).
        await console.trail.append(time.time_ns(), "staff.enrol", "no_token", origin=where)
        raise Refusal(404, EXPIRED)
    return found, account


def link_shown(http: Request, token: str, username: str) -> HTMLResponse:
    """The approver's one sight of an enrolment link, for htmx to show in the page's alert."""
    link = f"{str(http.base_url).rstrip('/')}/staff/enrol/{token}"
    hours = enrolment.valid_s // 3600
    html = (
        f"<p>Approved. Give this enrolment link to <b>{escape(username)}</b> yourself:"
        f" it works once, for {hours} hours, and is not shown again.</p>"
        f'<p><code class="enrolment-link">{escape(link)}</code></p>'
    )
    response = HTMLResponse(html)
    response.headers["Cache-Control"] = "no-store"
    return response
