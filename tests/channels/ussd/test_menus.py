"""Menus as downloadable, versioned data: the routes, ETags, and a rollout with no code change."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.channels.gateway import Dial

SHIPPED = Path(__file__).parents[3] / "src/mkoba/channels/ussd/menus"


def test_the_menu_index_names_each_roles_current_version(client: httpx.Client) -> None:
    listing = client.get("/ussd/menus").json()["menus"]
    assert set(listing) == {"customer", "agent", "agent_assistant", "merchant"}
    customer = listing["customer"]
    assert customer["version"] >= 1
    assert customer["url"] == f"/ussd/menus/customer?version={customer['version']}"
    assert customer["etag"].startswith('"') and customer["etag"].endswith('"')


def test_a_menu_downloads_with_an_etag_and_revalidates(client: httpx.Client) -> None:
    first = client.get("/ussd/menus/agent", params={"version": 1})
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    body = first.json()
    assert body["role"] == "agent" and body["version"] == 1
    assert body["screens"][body["start"]]["menu"]["sw"] == "Wakala wa M-PESA"
    etag = first.headers["etag"]
    again = client.get("/ussd/menus/agent", params={"version": 1}, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    assert client.get("/ussd/menus/agent", params={"version": 99}).status_code == 404
    assert client.get("/ussd/menus/staff").status_code == 404


def test_a_new_version_rolls_out_by_dropping_a_file_and_sessions_keep_theirs(
    client: httpx.Client, menus_dir: Path
) -> None:
    merchant = "254711300100"
    started = Dial(client, merchant)
    assert started.start().startswith("CON M-PESA Business\n1 Till Balance")
    text = (SHIPPED / "merchant.v1.yaml").read_text(encoding="utf-8")
    text = text.replace("version: 1", "version: 2").replace(
        'menu: {en: "M-PESA Business", sw: "Biashara ya M-PESA"}',
        'menu: {en: "Lipa na M-PESA Business", sw: "Biashara ya Lipa na M-PESA"}',
    )
    (menus_dir / "merchant.v2.yaml").write_text(text, encoding="utf-8")
    (menus_dir / "merchant.v3.yaml").write_text("role: merchant\nversion: 3\n", encoding="utf-8")
    for _ in range(50):
        if client.get("/ussd/menus").json()["menus"]["merchant"]["version"] == 2:
            break
        time.sleep(0.2)
    listing = client.get("/ussd/menus").json()["menus"]["merchant"]
    assert listing["version"] == 2  # v3 does not pass the checks and is refused
    assert listing["versions"] == [1, 2]
    assert Dial(client, merchant).start().startswith("CON Lipa na M-PESA Business\n1 Till")
    # The session opened before the rollout finishes on the version it started with.
    assert started.send("0") == started.screens[0]
