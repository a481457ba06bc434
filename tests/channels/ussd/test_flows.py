"""USSD sessions end to end: a real server, the gateway's form posts, money and SMS checked.

Each test plays the Africa's Talking gateway for one phone and checks what the
person holding it would: the screens, their balance before and after, and the
confirmation SMS that follows the final screen.
"""

from __future__ import annotations

import time

import httpx

from tests.channels.gateway import Dial
from tests.channels.serving import Served
from tests.channels.ussd.conftest import (
    balance,
    customer,
    last_sms_id,
    store_with_float,
    wait_sms,
)


def test_send_money_shows_the_name_before_the_pin_moves_the_money_and_texts(
    client: httpx.Client, server: Served
) -> None:
    sender, recipient = customer(client, 20_000), customer(client)
    before, before_recipient = balance(client, sender), balance(client, recipient)
    after_sms = last_sms_id(client, sender)
    local = "0" + recipient[3:]
    dial = Dial(client, sender)
    assert dial.start() == (
        "CON M-PESA\n1 Send Money\n2 Withdraw Cash\n3 Buy Airtime\n5 Lipa na M-PESA\n7 My Account"
    )
    assert dial.send("1").startswith("CON Enter phone no.")
    assert dial.send(f"{local[:4]} {local[4:7]} {local[7:]}").startswith("CON Enter amount")
    confirm = dial.send("150")
    # Hakikisha: the recipient's (masked) name is on the PIN screen.
    assert confirm.startswith("CON Send Ksh150.00 to ")
    assert f"{local}?\nEnter M-PESA PIN" in confirm
    name = confirm.removeprefix("CON Send Ksh150.00 to ").split(f" {local}")[0]
    assert name and name.split()[0].isalpha() and "*" in name
    final = dial.send("1357")
    assert final == f"END Ksh150.00 sent to {name} {local}. You will receive a confirmation SMS."
    sms = wait_sms(client, sender, after_sms, "Ksh150.00 sent to")
    assert "Confirmed." in sms and "New M-PESA balance is" in sms
    fee = int(sms.split("Transaction cost, Ksh")[1].rstrip(".").replace(".", "").replace(",", ""))
    assert balance(client, sender) == before - 15_000 - fee
    assert balance(client, recipient) == before_recipient + 15_000
    receipt = sms.split()[0]
    (status,) = server.rows("SELECT status FROM receipts WHERE receipt = ?", (receipt,))[0]
    assert status == "completed"


def test_a_swahili_customer_gets_the_menu_and_outcome_in_swahili(client: httpx.Client) -> None:
    dial = Dial(client, customer(client, swahili=True))
    assert dial.start().startswith("CON M-PESA\n1 Tuma Pesa\n2 Toa Pesa")
    assert dial.send("7").startswith("CON Akaunti Yangu\n1 Taarifa Fupi\n2 Angalia Salio")
    assert dial.send("2") == "CON Weka PIN ya M-PESA\n0 Rudi 00 Mwanzo"
    final = dial.send("1357")
    assert final.startswith("END Salio lako la M-PESA ni Ksh")


def test_invalid_input_is_reprompted_with_the_reason_then_the_session_ends(
    client: httpx.Client,
) -> None:
    dial = Dial(client, customer(client))
    dial.start()
    assert dial.send("9") == (
        "CON Invalid choice.\nM-PESA\n1 Send Money\n2 Withdraw Cash\n3 Buy Airtime\n"
        "5 Lipa na M-PESA\n7 My Account"
    )
    dial.send("1")
    assert dial.send("12") == "CON Invalid phone number.\nEnter phone no.\n0 Back 00 Home"
    dial.send("0712000004")
    assert dial.send("ten") == "CON Invalid amount.\nEnter amount\n0 Back 00 Home"
    assert dial.send("1*5") == "CON Invalid amount.\nEnter amount\n0 Back 00 Home"
    assert dial.send("-5") == ("END Too many invalid entries. Dial *334# to try again.")


def test_back_and_home_walk_the_menu(client: httpx.Client) -> None:
    dial = Dial(client, customer(client))
    dial.start()
    assert dial.send("5").startswith("CON Lipa na M-PESA\n1 Pay Bill\n2 Buy Goods")
    assert dial.send("2").startswith("CON Enter till no.")
    assert dial.send("0").startswith("CON Lipa na M-PESA")
    assert dial.send("0").startswith("CON M-PESA\n1 Send Money")
    dial.send("7")
    dial.send("3")
    assert dial.send("00").startswith("CON M-PESA\n1 Send Money")


def test_a_wrong_pin_moves_nothing_and_says_how_many_tries_are_left(
    client: httpx.Client,
) -> None:
    msisdn = customer(client, 20_000)
    before = balance(client, msisdn)
    final = Dial(client, msisdn).walk("1", "0712000004", "100", "9999")
    assert final.startswith("END Wrong PIN.")
    assert "left before your PIN is locked" in final
    assert balance(client, msisdn) == before


def test_an_unknown_recipient_ends_the_session_before_the_pin(client: httpx.Client) -> None:
    final = Dial(client, customer(client)).walk("1", "0799999999", "100")
    assert final == "END The recipient is not registered for M-PESA."


def test_withdraw_names_the_agent_store_before_the_pin(client: httpx.Client) -> None:
    msisdn = customer(client, 150_000)
    before = balance(client, msisdn)
    dial = Dial(client, msisdn)
    confirm = dial.walk("2", "123456", "2", "1000")
    assert confirm.startswith("CON Withdraw Ksh1,000.00 from 123456 - MAMA S*** 2?")
    final = dial.send("1357")
    assert final.startswith("END Withdraw Ksh1,000.00 from 123456 - MAMA S*** 2.")
    after = balance(client, msisdn)
    assert after < before - 100_000  # the amount and the withdrawal fee


def test_an_agent_deposits_for_a_customer_and_reads_its_float(client: httpx.Client) -> None:
    agent = store_with_float(client, 10_000)
    client_msisdn = customer(client)
    before = balance(client, client_msisdn)
    dial = Dial(client, agent)
    assert dial.start().startswith("CON M-PESA Agent\n1 Deposit\n2 Float Balance")
    dial.send("1")
    dial.send("0" + client_msisdn[3:])
    confirm = dial.send("70")
    assert confirm.startswith("CON Deposit Ksh70.00 to ")
    assert dial.send("2468").startswith("END Ksh70.00 deposited to ")
    assert balance(client, client_msisdn) == before + 7_000
    final = Dial(client, agent).walk("2", "2468")
    assert final.startswith("END Your float balance is Ksh")


def test_mini_statement_lists_the_latest_transactions(client: httpx.Client) -> None:
    msisdn = customer(client, 20_000)
    Dial(client, msisdn).walk("1", "0712000004", "100", "1357")  # free: no fee line
    final = Dial(client, msisdn).walk("7", "1", "1357")
    lines = final.removeprefix("END ").split("\n")
    assert lines[0] == "M-PESA statement:"
    assert lines[1].endswith("-100.00")  # newest first
    assert len(final) <= 4 + 160


def test_change_pin_confirms_the_new_pin_and_the_new_pin_works(client: httpx.Client) -> None:
    msisdn = customer(client)
    dial = Dial(client, msisdn)
    dial.walk("7", "3", "1357", "2580")
    assert dial.send("2581") == "CON The PINs do not match.\nConfirm new PIN\n0 Back 00 Home"
    assert dial.send("2580").startswith("END Your M-PESA PIN has been changed.")
    assert balance(client, msisdn, "2580") >= 0
    back = Dial(client, msisdn).walk("7", "3", "2580", "1357", "1357")
    assert back.startswith("END Your M-PESA PIN has been changed.")


def test_numbers_without_a_menu_are_told_why(client: httpx.Client) -> None:
    assert Dial(client, "254798765432").start() == (
        "END This number is not registered for M-PESA. Visit an M-PESA agent to register."
    )
    staff = Dial(client, "254711900001").start()
    assert staff == "END There is no M-PESA menu for this line. Call customer care on 100."


def test_sessions_end_on_the_gateways_notice_and_when_idle(client: httpx.Client) -> None:
    msisdn = customer(client)
    dial = Dial(client, msisdn)
    dial.walk("1")
    assert dial.end("Incomplete").status_code == 200
    assert dial.send("0712000004") == "END Your session has ended. Dial *334# to start again."
    idle = Dial(client, msisdn)
    idle.walk("1")
    time.sleep(4.5)
    assert idle.send("0712000004") == "END Your session has ended. Dial *334# to start again."


def test_a_repeated_hop_shows_the_same_screen_and_runs_nothing_twice(
    client: httpx.Client,
) -> None:
    dial = Dial(client, customer(client))
    dial.walk("1", "0712000004")
    screen = dial.send("50")
    dial.path.pop()
    assert dial.send("50") == screen


def test_gateway_errors_are_plain_answers(client: httpx.Client) -> None:
    missing = client.post("/ussd/at", data={"phoneNumber": "+254712000001", "text": ""})
    assert missing.status_code == 400
    assert missing.text == "sessionId is required"
    json_body = client.post("/ussd/at", json={"sessionId": "x"})
    assert json_body.status_code == 400
    unknown = client.post("/ussd/nope", data={"sessionId": "x"})
    assert unknown.status_code == 404
    bad_end = client.post("/ussd/at/events", data={"sessionId": "x", "status": "Maybe"})
    assert bad_end.status_code == 400


def test_contact_us_opens_a_care_ticket_in_its_category(
    client: httpx.Client, server: Served
) -> None:
    phone = customer(client)
    after = last_sms_id(client, phone)
    dial = Dial(client, phone)
    dial.start()
    assert dial.send("7").splitlines()[-4:-1] == [
        "6 Contact Us",
        "7 Full Statement",
        "8 PIN Manager",
    ]
    assert dial.send("6").startswith("CON Contact Us: what is it about?\n1 A transaction")
    final = dial.send("3")
    assert final.startswith("END Request ") and "Customer care will answer by" in final
    number = int(final.split()[2])
    ((category, queue, state),) = server.rows(
        "SELECT category, queue, state FROM tickets WHERE id = ?", (number,)
    )
    assert (category, queue, state) == ("fraud", "compliance", "open")
    assert f"number {number}" in wait_sms(client, phone, after, "We have your request")
