"""/docs and /redoc work offline: every asset they reference is a local URL this server serves."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mkoba.app import create_app
from mkoba.settings import Settings

CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # The pages need no running platform: the app is only built.
    app = create_app(Settings(db=str(tmp_path / "mkoba.db"), keys_dir=tmp_path / "keys"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mkoba.test") as client:
        yield client


def _references(html: str) -> list[str]:
    """Every URL a page loads: scripts, styles, icons and the OpenAPI document."""
    found = re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']""", html)
    found += re.findall(r"""\burl:\s*['"]([^'"]+)['"]""", html)
    return found


@pytest.mark.anyio
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_a_docs_page_loads_only_local_assets(client: httpx.AsyncClient, page: str) -> None:
    answer = await client.get(page)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://|(?<![:\w])//\w", answer.text), "a URL off this server"
    references = _references(answer.text)
    assets = [url for url in references if Path(url).suffix in CONTENT_TYPES]
    assert any(url.endswith(".js") for url in assets), references
    for url in references:
        assert url.startswith("/"), url
        served = await client.get(url)
        assert served.status_code == 200, url
        suffix = Path(url).suffix
        if suffix in CONTENT_TYPES:
            assert CONTENT_TYPES[suffix] in served.headers["content-type"], url
        else:
            assert served.json()["openapi"].startswith("3.1"), url


@pytest.mark.anyio
async def test_swagger_ui_reads_openapi_3_1(client: httpx.AsyncClient) -> None:
    """FastAPI writes OpenAPI 3.1, which Swagger UI reads from version 5 on."""
    page = (await client.get("/docs")).text
    (script,) = [url for url in _references(page) if url.endswith("swagger-ui-bundle.js")]
    (styles,) = [url for url in _references(page) if url.endswith(".css")]

    bundle = (await client.get(script)).text
    found = re.search(r'PACKAGE_VERSION:"(\d+)\.', bundle)
    assert found is not None
    assert int(found[1]) >= 5
    assert "swagger-ui" in (await client.get(styles)).text
