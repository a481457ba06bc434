"""The HTTP shell on one port (docs, limits, errors, health, metrics) and the native JSON API."""

from __future__ import annotations

from mkoba.channels.api.app import Service, build_app
from mkoba.channels.api.channel import ApiChannel

__all__ = ["ApiChannel", "Service", "build_app"]
