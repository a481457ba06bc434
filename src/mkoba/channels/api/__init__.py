"""The HTTP surface on one port: the native JSON API, health, metrics, and mounted channels."""

from __future__ import annotations

from mkoba.channels.api.app import build_app

__all__ = ["build_app"]
