"""The sandbox's app on the Daraja channel, so that SDK examples work unchanged.

On a store with demo data (``settings.demo``) and no Daraja app yet, once the
sandbox's businesses exist (``demo/sandbox.py``): an app with the consumer key
and secret below (docs/daraja.md), holding every API product; the sandbox's
shortcodes (174379 with its well-known passkey, the 600xxx organisations, till
600100), all the app's; and the initiator ``testapi`` (password
``Safaricom999!*!``). One commit: nothing is created twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mkoba.channels.daraja.registry import (
    App,
    Initiator,
    Shortcode,
    app_write,
    initiator_write,
    shortcode_write,
)
from mkoba.demo.sandbox import BUSINESSES
from mkoba.parties import Party

if TYPE_CHECKING:
    from mkoba.channels.daraja.state import Daraja

CONSUMER_KEY = "mkobaSandboxConsumerKey0000000000000000000000001"
# Public on purpose: the sandbox's credentials are documented, as Safaricom's test ones are.
CONSUMER_SECRET = "mkobaSandboxConsumerSecret000000000000000000000000000000000000001"  # noqa: S105
INITIATOR = "testapi"
INITIATOR_PASSWORD = "Safaricom999!*!"  # noqa: S105


async def ensure_sandbox(daraja: Daraja) -> bool:
    """Create the sandbox world if this store has no Daraja app yet; True when created."""
    if daraja.registry.apps:
        return False
    parties = _parties(daraja)
    await _app(daraja, parties)
    await daraja.refresh()
    return True


def _parties(daraja: Daraja) -> dict[str, Party]:
    """The sandbox's businesses, by shortcode (``demo.sandbox`` made them)."""
    found: dict[str, Party] = {}
    for business in BUSINESSES:
        party = daraja.directory.by_number(business.kind, business.number)
        if party is None:
            raise LookupError(f"the sandbox world has no business {business.number} yet")
        found[business.number] = party
    return found


async def _app(daraja: Daraja, parties: dict[str, Party]) -> None:
    """The sandbox app, its shortcodes and its initiator."""
    vault = daraja.vault
    now = daraja.now()
    app = App(
        1,
        "mkoba sandbox",
        CONSUMER_KEY,
        vault.verifier("secret", CONSUMER_SECRET),
        frozenset({"*"}),
    )
    writes = [app_write(app, now)]
    for business in BUSINESSES:
        sealed = (
            vault.seal(f"passkey:{business.number}", business.passkey) if business.passkey else ""
        )
        code = Shortcode(
            business.number,
            app.id,
            business.shortcode_kind,
            parties[business.number].id,
            sealed,
            False,
        )
        writes.append(shortcode_write(code, now))
    initiator = Initiator(
        app.id, INITIATOR, vault.verifier("initiator", INITIATOR_PASSWORD), frozenset({"*"})
    )
    writes.append(initiator_write(initiator, now))
    await daraja.commit(writes)
