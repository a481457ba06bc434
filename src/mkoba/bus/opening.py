"""Opening the bus a process's settings name: in-process, or NATS with this platform's keys."""

from __future__ import annotations

from mkoba.bus import Bus
from mkoba.bus.jetstream import NatsBus
from mkoba.bus.memory import MemoryBus
from mkoba.parties import keys_fingerprint, load_or_create_key
from mkoba.settings import Settings


async def open_bus(settings: Settings) -> Bus:
    """The bus ``settings.bus`` names: ``memory`` (in-process) or ``nats://host:port[/prefix]``."""
    if settings.bus == "memory":
        return MemoryBus(settings.workers)
    bus = NatsBus(settings.bus, settings.workers, settings.bus_redelivery_s)
    bus.keys = keys_fingerprint(load_or_create_key(settings.keys_dir / "transport.key"))
    await bus.connect()
    return bus
