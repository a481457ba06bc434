"""Browser tests: Debian's Chromium driven by Playwright, against a real ``mkoba serve``.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (the
``chromium`` Debian package, which ``.ci/run`` installs). Without it the tests are
skipped, unless ``MKOBA_REQUIRE_BROWSER=1`` (as in CI) makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# As the machine's notes say: no sandbox as root, and none of Chromium's own traffic.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium for the module."""
    if not CHROMIUM.exists():
        if os.environ.get("MKOBA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()
