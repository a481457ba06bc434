"""A USSD session belongs to the phone that opened it; the gateway proves who it is.

Real ``mkoba serve`` processes played over HTTP as an attacker on the network
would: phone B posting hops with phone A's session id, anyone posting hops
without the gateway's credential. Beside each refusal, the rightful caller does
the same and is served.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mkoba.settings import SettingsError, load_settings
from tests.channels.gateway import Dial
from tests.channels.serving import Served, serve
from tests.channels.ussd.conftest import balance, customer

PIN = "1357"
ENDED = "END Your session has ended. Dial *334# to start again."
GATEWAY_SECRET = "gw-secret-0123456789abcdef"
GATEWAY_BASIC = "africastalking:basic-0123456789abcdef"


def test_a_ussd_session_goes_on_only_for_the_phone_that_opened_it(client: httpx.Client) -> None:
    owner, other = customer(client), customer(client)
    mine = Dial(client, owner)
    mine.walk("7", "3", PIN)  # Change PIN: the old PIN typed, the new one asked for
    theirs = Dial(client, other)
    theirs.session_id, theirs.path = mine.session_id, list(mine.path)
    # The other phone types the new PIN and its confirmation into the owner's session.
    assert theirs.send("4826") == ENDED
    assert theirs.send("4826") == ENDED
    assert theirs.end(status="Failed").status_code == 200  # and hangs it up
    # The owner's session is where the owner left it, and finishes for the owner: the
    # PIN is the one the owner chose, and the other phone's never worked.
    assert mine.send("2580").startswith("CON Confirm new PIN")
    assert mine.send("2580").startswith("END Your M-PESA PIN has been changed.")
    assert balance(client, owner, "2580") >= 0
    stolen = client.post("/api/v1/balance", json={"msisdn": owner, "pin": "4826"})
    assert stolen.status_code == 401


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A demo platform whose USSD gateway authenticates, both ways it can."""
    folder = tmp_path_factory.mktemp("guarded")
    with serve(
        folder, ussd_gateway_secret=GATEWAY_SECRET, ussd_gateway_basic=GATEWAY_BASIC
    ) as served:
        yield served


def _basic(credential: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credential.encode()).decode()}


def test_with_a_gateway_credential_only_the_gateway_is_served(guarded: Served) -> None:
    with httpx.Client(base_url=guarded.url, timeout=30) as http:
        phone = customer(http)
        form = Dial(http, phone).form()
        strangers = (
            {},
            {"X-Gateway-Secret": GATEWAY_SECRET[:-1] + "x"},
            {"Authorization": f"Bearer {GATEWAY_SECRET}"},
            _basic("africastalking:wrong-0123456789abcdef"),
            _basic(GATEWAY_SECRET),
        )
        for headers in strangers:
            for path in ("/ussd/at", "/ussd/at/events"):
                answer = http.post(path, data={**form, "status": "Success"}, headers=headers)
                assert answer.status_code == 401, (path, headers, answer.text)
                assert not answer.text.startswith(("CON", "END"))
        # Refused, it did nothing: no session was opened under that id.
        gateway = {"X-Gateway-Secret": GATEWAY_SECRET}
        assert http.post("/ussd/at", data={**form, "text": "1"}, headers=gateway).text == ENDED
        for headers in (gateway, _basic(GATEWAY_BASIC)):
            dialled = http.post("/ussd/at", data=Dial(http, phone).form(), headers=headers)
            assert dialled.status_code == 200 and dialled.text.startswith("CON "), dialled.text
        # A paired simulated handset dials for its own number, and for no other.
        own = http.post("/ussd/at", data=Dial(http, phone).form(), headers=guarded.handset(phone))
        assert own.text.startswith("CON ")
        other = Dial(http, customer(http)).form()
        assert http.post("/ussd/at", data=other, headers=guarded.handset(phone)).status_code == 401
    log = guarded.log.read_text(errors="replace")
    assert "the gateway's credential is required" in log
    assert GATEWAY_SECRET not in log and GATEWAY_BASIC.partition(":")[2] not in log


def test_without_demo_data_or_a_gateway_credential_the_gateway_is_closed(
    tmp_path: Path,
) -> None:
    with serve(tmp_path, demo="false") as served, httpx.Client(base_url=served.url) as http:
        form = Dial(http, "254712000001").form()
        answer = http.post("/ussd/at", data=form)
        assert answer.status_code == 401
        own = http.post("/ussd/at", data=form, headers=served.handset("254712000001"))
        assert own.status_code == 200 and own.text.startswith("END ")  # nobody registered
    assert "USSD gateway: CLOSED" in served.log.read_text(errors="replace")


def test_a_gateway_credential_is_checked_at_start_and_never_shown() -> None:
    for name, value in (("secret", "short-secret"), ("basic", "gateway"), ("basic", ":x" * 9)):
        with pytest.raises(SettingsError) as refused:
            load_settings(**{f"ussd_gateway_{name}": value})
        assert f"MKOBA_USSD_GATEWAY_{name.upper()}" in str(refused.value)
        assert value not in str(refused.value)
    settings = load_settings(ussd_gateway_secret=GATEWAY_SECRET, ussd_gateway_basic=GATEWAY_BASIC)
    shown = repr(settings) + str(settings)
    assert GATEWAY_SECRET not in shown and GATEWAY_BASIC not in shown
