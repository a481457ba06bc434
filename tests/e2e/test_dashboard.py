"""The dashboard in a real browser: its charts draw, and nothing is fetched from elsewhere.

Method: a real ``mkoba serve`` (demo world) and headless Chromium; a customer sends
money over the public API so today has a volume to chart; operations signs in and
opens the dashboard while every request the page makes is recorded. The charts'
canvases must be drawn (not blank), and every request must go to the console itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Request, expect

from tests.channels.serving import Served, serve
from tests.e2e.test_back_office import PAYEE, PAYER, PIN, Codes, sign_in


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("dashboard")) as server:
        yield server


@pytest.fixture(scope="module")
def console_url(served: Served) -> str:
    found = re.search(r"console\s+(http://127\.0\.0\.1:\d+)/staff", served.log.read_text())
    assert found is not None, served.log.read_text()[-2000:]
    return found.group(1)


def test_the_charts_render_with_nothing_from_elsewhere(
    browser: Browser, console_url: str, served: Served
) -> None:
    with httpx.Client(base_url=served.url) as api:
        sent = api.post(
            "/api/v1/send-money", json={"msisdn": PAYER, "pin": PIN, "to": PAYEE, "amount": "75"}
        )
        assert sent.status_code == 200, sent.text
    page = sign_in(browser, console_url, Codes(served), "operations")
    asked: list[str] = []

    def seen(request: Request) -> None:
        asked.append(request.url)

    page.context.on("request", seen)
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("#dashboard[data-ready='1']")).to_have_count(1)
    canvas = page.locator("#chart-product-count canvas")
    expect(canvas).to_have_count(1)
    # Drawn: the canvas has pixels of more than one colour (lines, axes), not a blank.
    colours = canvas.evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  const s = new Set(); for (let i = 0; i < d.length; i += 4 * 97)
                  s.add(d[i] + ',' + d[i+1] + ',' + d[i+2] + ',' + d[i+3]); return s.size; }"""
    )
    assert colours > 2
    expect(page.locator("#chart-channel-amount canvas")).to_have_count(1)
    expect(page.locator(".u-legend").first).to_contain_text("send money")
    expect(page.locator("#health-rows tr").first).to_be_visible()
    assert any(url.startswith(f"{console_url}/staff/v1/dashboard?") for url in asked), asked
    assert any(url.endswith("/staff/static/uPlot.iife.min.js") for url in asked), asked
    elsewhere = [url for url in asked if not url.startswith(f"{console_url}/")]
    assert elsewhere == [], elsewhere
