"""The response rule on USSD: money moves only if the final screen reached the gateway.

The final screen is the response to a money-moving request; the HTTP answer to
the gateway is its delivery. A gateway that hung up before the answer, or an
answer later than the gateway waits, must leave the money where it was, and
the payer is told by SMS that nothing happened.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from tests.channels.gateway import Dial
from tests.channels.serving import Served, serve
from tests.channels.ussd.conftest import balance, customer, last_sms_id, wait_sms


def _hang_up_on(url: str, form: dict[str, str]) -> None:
    """POST a hop and close the connection at once, before any answer."""
    parts = urlsplit(url)
    body = urlencode(form).encode()
    head = (
        f"POST /ussd/at HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port)) as connection:
        connection.sendall(head + body)
        connection.shutdown(socket.SHUT_RDWR)


def _settled(server: Served, msisdn_local: str, after: float) -> list[str]:
    """Statuses of send_money receipts to ``msisdn_local`` created after ``after``."""
    for _ in range(50):
        rows = server.rows(
            "SELECT status FROM receipts WHERE product = 'send_money' AND reference = ?"
            " AND created >= ?",
            (msisdn_local, int(after * 1e9)),
        )
        if rows and all(status != "pending" for (status,) in rows):
            return [status for (status,) in rows]
        time.sleep(0.1)
    raise AssertionError("the request never settled")


def test_a_gateway_that_hangs_up_before_the_final_screen_moves_no_money(
    client: httpx.Client, server: Served
) -> None:
    sender, recipient = customer(client, 20_000), customer(client)
    before, before_recipient = balance(client, sender), balance(client, recipient)
    after_sms = last_sms_id(client, sender)
    started = time.time()
    dial = Dial(client, sender)
    screen = dial.walk("1", "0" + recipient[3:], "100")
    assert screen.endswith("Enter M-PESA PIN\n0 Back 00 Home")
    dial.path.append("1357")
    _hang_up_on(server.url, dial.form())
    assert _settled(server, recipient, started) == ["rolled_back"]
    assert balance(client, sender) == before
    assert balance(client, recipient) == before_recipient
    told = wait_sms(client, sender, after_sms, "could not be completed")
    assert "no money moved" in told


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server that believes its gateway waits only 1 ms for an answer."""
    with serve(tmp_path_factory.mktemp("impatient"), ussd_response_s="0.001") as served:
        yield served


def test_an_answer_later_than_the_gateway_waits_is_rolled_back_and_says_so(
    impatient: Served,
) -> None:
    with httpx.Client(base_url=impatient.url, timeout=30) as client:
        sender, recipient = customer(client, 20_000), customer(client)
        before = balance(client, sender)
        started = time.time()
        final = Dial(client, sender).walk("1", "0" + recipient[3:], "100", "1357")
        assert final == (
            "END Your request could not be completed and no money moved. You may try again."
        )
        assert _settled(impatient, recipient, started) == ["rolled_back"]
        assert balance(client, sender) == before
        # Requests that move no money are not held to the gateway's patience.
        assert Dial(client, sender).walk("7", "2", "1357").startswith("END Your M-PESA balance")
