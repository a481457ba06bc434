"""One real ``mkoba serve`` for the USSD tests of a module, with a few funded customers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.channels.serving import Served, serve

AGENT_PIN = "2468"
CUSTOMER_PIN = "1357"
STORES = ("254711100001", "254711100002", "254711110001", "254711110002")
FIRST_CUSTOMER = 254712000001
_taken: set[str] = set()


def customer(client: httpx.Client, minimum: int = 0, swahili: bool = False) -> str:
    """A demo customer nobody in this run used yet, holding at least ``minimum`` (minor).

    The demo's history leaves balances uneven (and agents' floats low), so tests
    pick whoever has the money rather than cash in.
    """
    for index in range(20, 1000):
        msisdn = str(FIRST_CUSTOMER + index)
        if msisdn in _taken or (index % 5 == 0) != swahili:
            continue
        if balance(client, msisdn) >= minimum:
            _taken.add(msisdn)
            return msisdn
    raise AssertionError(f"no demo customer holds {minimum}")


def store_with_float(client: httpx.Client, minimum: int) -> str:
    """An agent store of the demo with at least ``minimum`` float (minor)."""
    for msisdn in STORES:
        if balance(client, msisdn, AGENT_PIN) >= minimum:
            return msisdn
    raise AssertionError(f"no demo store has {minimum} float")


def balance(client: httpx.Client, msisdn: str, pin: str = CUSTOMER_PIN) -> int:
    """A wallet's available balance in minor units (through the native API)."""
    response = client.post("/api/v1/balance", json={"msisdn": msisdn, "pin": pin})
    assert response.status_code == 200, response.text
    return int(response.json()["data"]["balance_minor"])


def inbox(
    client: httpx.Client, msisdn: str, after: int = 0, wait: float = 0
) -> list[dict[str, object]]:
    """The SMS inbox of a number (the client must be paired: ``Served.handsets``)."""
    params = {"after": after, "wait": wait}
    answer = client.get(f"/api/v1/sms/{msisdn}", params=params, timeout=wait + 10)
    assert answer.status_code == 200, answer.text
    messages = answer.json()
    return list(messages["messages"])


def last_sms_id(client: httpx.Client, msisdn: str) -> int:
    """The id of the newest message in an inbox (0 when empty)."""
    return max((int(str(m["id"])) for m in inbox(client, msisdn)), default=0)


def wait_sms(client: httpx.Client, msisdn: str, after: int, containing: str) -> str:
    """The first new SMS to ``msisdn`` containing ``containing`` (waits a few seconds)."""
    for _ in range(10):
        for message in inbox(client, msisdn, after, wait=1.0):
            if containing in str(message["text"]):
                return str(message["text"])
    raise AssertionError(f"no SMS with {containing!r} for {msisdn}")


@pytest.fixture(scope="session")
def menus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The operator's menu directory of the shared server (empty at first)."""
    return tmp_path_factory.mktemp("menus")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, menus_dir: Path) -> Iterator[Served]:
    """The USSD tests' server: sessions idle out after 4 s; extra menus from ``menus_dir``;
    mail written to the folder's ``mail`` (no SMTP server)."""
    folder = tmp_path_factory.mktemp("ussd")
    mail = str(folder / "mail")
    with serve(folder, ussd_idle_s="4", ussd_menus_dir=str(menus_dir), mail_dir=mail) as served:
        yield served


@pytest.fixture(scope="session")
def client(server: Served) -> Iterator[httpx.Client]:
    """An HTTP client for the module's server (each number reads its own inbox, paired)."""
    with httpx.Client(base_url=server.url, timeout=30, auth=server.handsets) as http:
        yield http
