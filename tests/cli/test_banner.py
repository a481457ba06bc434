"""The start-up banner: each line whole at any terminal width, so its URLs can be copied."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from mkoba.cli import print_banner
from mkoba.settings import Settings


@pytest.mark.parametrize("width", [40, 200])
def test_every_line_is_whole(tmp_path: Path, width: int) -> None:
    settings = Settings(db=str(tmp_path / "a-rather-long-folder-name" / "mkoba.db"), port=8334)
    out = io.StringIO()

    print_banner(Console(file=out, width=width, force_terminal=False), settings)

    base = "http://127.0.0.1:8334"
    assert out.getvalue().splitlines() == [
        f"mkoba on {base}  (store: {settings.db}, bus: memory, profile: kenya)",
        f"  native API  {base}/api/v1/...   docs {base}/docs",
        f"  health      {base}/health        metrics {base}/metrics",
        f"  phone app   {base}/app/          (QR payments; open it on two phones)",
        "  mail        var/mail/   (no SMTP host: codes, statements)",
    ]
