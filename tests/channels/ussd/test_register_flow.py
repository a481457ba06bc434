"""Agent-assisted registration on USSD: the agent registers, the customer sets the PIN.

Method: the shared real server (demo world), the gateway's form posts for the agent's
phone and then for the new customer's, as each person would dial; the wallet is then
used through the native API, and the welcome SMS read from the customer's inbox.
"""

from __future__ import annotations

import httpx

from tests.channels.gateway import Dial
from tests.channels.ussd.conftest import AGENT_PIN, STORES, balance, wait_sms

NEW_CUSTOMER = "254799100231"
LOCAL = "0" + NEW_CUSTOMER[3:]


def test_an_agent_registers_a_customer_who_sets_their_pin_with_their_id(
    client: httpx.Client,
) -> None:
    agent = Dial(client, STORES[0])
    assert agent.start().endswith("4 My Account\n5 Register Customer")
    assert agent.send("5").startswith("CON Enter customer phone no.")
    assert agent.send(LOCAL).startswith("CON Enter customer's full name")
    assert agent.send("R2D2").startswith("CON Enter the name in letters.")
    assert agent.send("Amani  Juma").startswith("CON Enter customer's ID number")
    confirm = agent.send("27182818")
    assert confirm.startswith(f"CON Register Amani Juma {LOCAL}, ID 27182818?\nEnter M-PESA PIN")
    final = agent.send(AGENT_PIN)
    assert final == (
        f"END Amani Juma {LOCAL} is registered. They will get an SMS to set their own PIN."
    )
    welcome = wait_sms(client, NEW_CUSTOMER, 0, "registered this number")
    assert "My Account, PIN Manager" in welcome
    # The same number again is refused.
    again = Dial(client, STORES[0]).walk("5", LOCAL, "Amani Juma", "27182818", AGENT_PIN)
    assert again.startswith("END ") and "registered already" in again

    # The customer, on their own phone: PIN Manager under My Account.
    phone = Dial(client, NEW_CUSTOMER)
    phone.start()
    account = phone.send("7")
    assert "8 PIN Manager" in account
    assert phone.send("8").startswith("CON Enter your ID number")
    assert phone.send("27182818").startswith("CON Enter new PIN")
    assert phone.send("5820").startswith("CON Confirm new PIN")
    assert phone.send("5820").startswith("END Your M-PESA PIN is set.")
    assert balance(client, NEW_CUSTOMER, "5820") == 0
