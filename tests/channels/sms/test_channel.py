"""The SMS channel in a running server: SMS out over SMPP, receipts in, commands from phones.

A real ``mkoba serve`` bound to the SMSC peer (``MKOBA_SMPP``): what the SMSC
receives is what phones would read, and the outbox's states follow the
delivery receipts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.channels.gateway import Dial
from tests.channels.serving import Served, serve
from tests.channels.sms.peer import Peer
from tests.channels.ussd.conftest import customer


@pytest.fixture(scope="module")
def server(peer: Peer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server whose SMS go to the peer."""
    with serve(tmp_path_factory.mktemp("sms"), smpp=peer.url) as served:
        peer.wait(lambda: peer.stats()["binds"] >= 1)
        yield served


@pytest.fixture(scope="module")
def client(server: Served) -> Iterator[httpx.Client]:
    """An HTTP client for the module's server."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def _states(server: Served, request_id: str) -> dict[str, str]:
    rows = server.rows("SELECT reference, state FROM outbox WHERE request_id = ?", (request_id,))
    return dict(rows)


def _wait_states(server: Served, request_id: str, wanted: dict[str, str]) -> None:
    for _ in range(100):
        if _states(server, request_id) == wanted:
            return
        time.sleep(0.1)
    assert _states(server, request_id) == wanted


def _send(client: httpx.Client, sender: str, recipient: str, amount: str) -> str:
    dial = Dial(client, sender)
    final = dial.walk("1", "0" + recipient[3:], amount, "1357")
    assert final.startswith(f"END Ksh{amount}.00 "), final
    return f"ussd:at:{dial.session_id}:2"


def test_confirmations_reach_the_smsc_and_receipts_mark_them_delivered(
    peer: Peer, server: Served, client: httpx.Client
) -> None:
    sender, recipient = customer(client, 20_000), customer(client)
    request_id = _send(client, sender, recipient, "100")
    payer = peer.wait(lambda: peer.messages(sender))
    payee = peer.wait(lambda: peer.messages(recipient))
    assert "Confirmed. Ksh100.00 sent to" in payer[-1]["text"]
    assert "You have received Ksh100.00 from" in payee[-1]["text"]
    assert payer[-1]["source"] == "MPESA" and payer[-1]["registered_delivery"] == 1
    _wait_states(
        server, request_id, {"send_money.payer": "delivered", "send_money.payee": "delivered"}
    )
    parts = server.rows(
        "SELECT p.state FROM sms_parts AS p JOIN outbox AS o ON o.id = p.outbox_id"
        " WHERE o.request_id = ?",
        (request_id,),
    )
    assert sorted(state for (state,) in parts) == ["delivered", "delivered"]


def test_undeliverable_and_lost_receipts_leave_their_marks(
    peer: Peer, server: Served, client: httpx.Client
) -> None:
    sender, recipient = customer(client, 20_000), customer(client)
    peer.config(undeliverable=[recipient], lost_receipts=[sender])
    request_id = _send(client, sender, recipient, "100")
    _wait_states(
        server, request_id, {"send_money.payer": "sent", "send_money.payee": "undelivered"}
    )
    time.sleep(1.0)  # the payer's receipt never comes: its message stays "sent"
    assert _states(server, request_id)["send_money.payer"] == "sent"
    peer.reset()


def test_phones_asking_for_balance_by_sms_are_told_to_dial(
    peer: Peer, server: Served, client: httpx.Client
) -> None:
    phone = customer(client)
    peer.mo(phone, "334455", "BAL 1357")
    reply = peer.wait(lambda: peer.messages(phone))
    assert reply[-1]["text"].startswith("M-PESA never asks for your PIN by SMS.")
    peer.mo(phone, "334455", "hello")
    help_text = peer.wait(lambda: peer.messages(phone)[1:])
    assert "forward its confirmation SMS to 456" in help_text[-1]["text"]
    stranger = "254798765432"
    peer.mo(stranger, "334455", "hello")
    told = peer.wait(lambda: peer.messages(stranger))
    assert told[-1]["text"].startswith("This number is not registered for M-PESA.")


def test_a_forwarded_confirmation_leads_to_the_pin_flow_for_a_reversal(
    peer: Peer, server: Served, client: httpx.Client
) -> None:
    sender, recipient = customer(client, 20_000), customer(client)
    _send(client, sender, recipient, "100")
    confirmation = peer.wait(lambda: peer.messages(sender))[-1]["text"]
    receipt = confirmation.split()[0]
    peer.mo(sender, "456", "Fwd: " + confirmation)
    reply = peer.wait(lambda: [m for m in peer.messages(sender) if "To reverse" in m["text"]])
    assert reply[-1]["text"] == (
        f"To reverse {receipt}, dial *334#, choose My Account, then Reverse Transaction,"
        " and confirm with your M-PESA PIN."
    )
    # The PIN flow it points to: the money is held for customer care to decide.
    final = Dial(client, sender).walk("7", "5", receipt.lower(), "1357")
    assert (
        final == f"END Reversal of {receipt} requested. You will receive an SMS when it is decided."
    )
    # Someone else's confirmation is refused with the reason.
    stranger = customer(client)
    peer.mo(stranger, "456", confirmation)
    refused = peer.wait(lambda: peer.messages(stranger))
    assert (
        refused[-1]["text"]
        == f"{receipt} Reversal request not accepted. There is no such transaction."
    )
    peer.mo(sender, "456", "please reverse my money")
    how = peer.wait(lambda: [m for m in peer.messages(sender) if "starting with" in m["text"]])
    assert "forward the whole M-PESA confirmation SMS to 456" in how[-1]["text"]


def test_sms_keep_flowing_after_the_smsc_drops_the_link(
    peer: Peer, server: Served, client: httpx.Client
) -> None:
    binds = peer.stats()["binds"]
    peer.drop()
    peer.wait(lambda: peer.stats()["binds"] > binds)
    sender, recipient = customer(client, 20_000), customer(client)
    request_id = _send(client, sender, recipient, "100")
    _wait_states(
        server, request_id, {"send_money.payer": "delivered", "send_money.payee": "delivered"}
    )


def test_help_by_sms_opens_a_care_ticket_and_keeps_no_pin(
    peer: Peer, server: Served, client: httpx.Client
) -> None:
    phone = customer(client)
    peer.mo(phone, "334455", "HELP my agent took 1357 and did not give me cash")
    opened = peer.wait(
        lambda: [m for m in peer.messages(phone) if "We have your request" in m["text"]]
    )
    number = opened[-1]["text"].split("number ")[1].split(".")[0]
    ((category, channel, text, queue),) = server.rows(
        "SELECT category, channel, text, queue FROM tickets WHERE id = ?", (int(number),)
    )
    assert (category, channel, queue) == ("other", "sms", "care_l1")
    assert text == "my agent took **** and did not give me cash"
