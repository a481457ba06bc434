"""The web app's files: both languages say everything, the shell is complete, nothing
is fetched from elsewhere, and the vendored jsQR is the one VENDOR.md names.

Method: read the files under ``channels/app/web`` as ``mkoba serve`` serves them.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

import mkoba.channels.app
from mkoba.channels.app.refusal import Refusal
from mkoba.channels.app.validation import refusals, validator
from mkoba.codes import Code

WEB = Path(mkoba.channels.app.__file__).parent / "web"
# The refusals the app channel and its validation server answer with (their stable
# codes: refusals.py, the code reader's kinds, and the few the channel raises itself).
SERVER_CODES = {
    value for name, value in vars(refusals).items() if name.isupper() and isinstance(value, str)
} | {f"qr_{kind.value}" for kind in Refusal}
SERVER_CODES |= {
    validator.MSISDN_INVALID,
    "qr_unknown_payee",
    "qr_amount_fixed",
    "amount_missing",
    "invalid_input",
}
# The app's own refusals (no server involved): no connection, a typed amount, the camera.
APP_CODES = {"network", "not_bound", "amount_invalid", "camera", "insecure", "unknown"}
APP_CODES |= {"friends_missing", "shares_sum"}  # split a bill: checked before it is sent


def strings(language: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((WEB / f"lang/{language}.json").read_text("utf-8"))
    return loaded


def keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for name, value in tree.items():
        if isinstance(value, dict):
            found |= keys(value, f"{prefix}{name}.")
        else:
            assert isinstance(value, str) and value.strip(), f"{prefix}{name} is empty"
            found.add(prefix + name)
    return found


def test_english_and_swahili_have_the_same_strings() -> None:
    assert keys(strings("en")) == keys(strings("sw"))


@pytest.mark.parametrize("language", ["en", "sw"])
def test_every_refusal_has_words_in_both_languages(language: str) -> None:
    errors = set(strings(language)["errors"])
    assert SERVER_CODES - errors == set()
    assert {str(code) for code in Code} - errors == set()
    assert APP_CODES - errors == set()


@pytest.mark.parametrize("language", ["en", "sw"])
def test_placeholders_are_the_same_in_both_languages(language: str) -> None:
    english = strings("en")
    other = strings(language)
    for key in keys(english):
        here, there = english, other
        for part in key.split("."):
            here, there = here[part], there[part]
        assert set(re.findall(r"\{\w+\}", here)) == set(re.findall(r"\{\w+\}", there)), key


def test_every_key_the_page_names_exists() -> None:
    named = set(re.findall(r'data-i18n="([\w.]+)"', (WEB / "index.html").read_text("utf-8")))
    for module in (WEB / "js").rglob("*.js"):
        named |= set(re.findall(r'\bt\("([\w.]+)"', module.read_text("utf-8")))
    assert named, "the page has no translated strings?"
    assert named - keys(strings("en")) == set()


def shell() -> list[str]:
    text = (WEB / "sw.js").read_text("utf-8")
    listed = re.search(r"const FILES = \[(.*?)\];", text, re.DOTALL)
    assert listed is not None
    return re.findall(r'"([^"]+)"', listed.group(1))


def test_the_service_worker_keeps_every_file_of_the_shell() -> None:
    files = shell()
    for name in files:
        assert name == "./" or (WEB / name).is_file(), name
    ours = {path.relative_to(WEB).as_posix() for path in (WEB / "js").rglob("*.js")}
    assert ours - set(files) == set()
    assert not any(name.startswith("api/") for name in files), "API answers are never kept"


def test_nothing_is_fetched_from_elsewhere() -> None:
    for path in [WEB / "index.html", WEB / "app.css", WEB / "sw.js", *(WEB / "js").rglob("*.js")]:
        text = path.read_text("utf-8")
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE), path


def test_the_vendored_jsqr_is_the_one_the_table_names() -> None:
    table = (WEB / "VENDOR.md").read_text("utf-8")
    row = re.search(r"\| `vendor/jsQR.js` \| `jsqr` \| ([0-9.]+) \|.*\| `([0-9a-f]{64})` \|", table)
    assert row is not None, "VENDOR.md has no row for jsQR"
    version, digest = row.groups()
    assert hashlib.sha256((WEB / "vendor/jsQR.js").read_bytes()).hexdigest() == digest
    assert json.loads((WEB / "package.json").read_text("utf-8"))["dependencies"] == {
        "jsqr": version
    }
    assert "Apache License" in (WEB / "vendor/jsQR.LICENSE").read_text("utf-8")
