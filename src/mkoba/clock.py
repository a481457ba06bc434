"""The platform's one clock."""

from __future__ import annotations

import time


class Clock:
    """The platform's one clock (ns). Demo history runs it in the past, then lets it go."""

    def __init__(self) -> None:
        self.fixed: int | None = None

    def __call__(self) -> int:
        fixed = self.fixed
        return time.time_ns() if fixed is None else fixed
