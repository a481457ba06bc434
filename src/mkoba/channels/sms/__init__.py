"""The SMS channel: an SMPP v3.4 ESME, delivery receipts, inbound commands, replies.

An extension of the platform (``mkoba.app.EXTENSIONS``). ``start`` wires the
channel (SMPP when ``MKOBA_SMPP`` is set, the in-memory SMSC otherwise);
``mount`` adds the developer route that plays an inbound SMS. See docs/sms.md.
Submodules import lazily: ``gsm7`` is also used by the USSD channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from mkoba.app import Platform

__all__ = ["mount", "start", "stop"]


def mount(app: FastAPI, platform: Platform) -> None:
    """Add ``POST /api/v1/sms/inbound``: an SMS from a phone, as the SMSC would deliver it."""
    from mkoba.channels.sms.routes import mount as mount_routes

    mount_routes(app, platform)


async def start(platform: Platform) -> None:
    """Start the SMS channel."""
    from mkoba.channels.sms.channel import SmsChannel

    channel = SmsChannel(platform)
    await channel.start()
    platform.extras["sms"] = channel


async def stop(platform: Platform) -> None:
    """Stop the SMS channel."""
    channel: Any = platform.extras.pop("sms", None)
    if channel is not None:
        await channel.stop()
