"""The core products through a running platform, on both stores: each happy path, each refusal.

Requests go through the bus on the API channel and are acknowledged as the API
acknowledges them, so money moves by the real two-phase path. Amounts and fees
are the ones a customer reads on the Kenyan tariff sheet in force (2023-08-15
onwards): sending 1,000 costs 13, withdrawing 2,000 costs 29 (excise included).
"""

from __future__ import annotations

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.parties import PartyKind, PartyState, Purpose, Role, SealedPin, account_id
from mkoba.processor.request import Channel, Response
from tests.conftest import MakePlatform
from tests.processor.world import (
    AGENT_PIN,
    BUSINESS_PIN,
    CUSTOMER_PIN,
    EXCISE,
    FEES,
    KSH,
    World,
    available,
    balance,
    call,
    eventually,
    inbox,
    request_of,
    rows,
    wallet,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    return await make_platform("core")


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    return await World(platform).setup()


def refused(response: Response, code: Code, text: str | None = None) -> None:
    """A refusal as a user sees it: the code, a sentence, no receipt."""
    assert response.code is code, response
    assert not response.ok
    assert response.receipt is None
    assert response.message
    if text is not None:
        assert text in response.message, response.message


async def sms_containing(platform: Platform, msisdn: str, text: str) -> str:
    """The first SMS to ``msisdn`` containing ``text`` (waiting for the outbox)."""
    found: list[str] = []

    async def arrived() -> bool:
        found[:] = [body for body in inbox(platform, msisdn) if text in body]
        return bool(found)

    await eventually(arrived, what=f"an SMS to {msisdn} with {text!r}")
    return found[0]


# -- register -------------------------------------------------------------------------


async def test_register_opens_a_wallet_with_a_pin_and_says_welcome(world: World) -> None:
    platform = world.platform
    msisdn = world.msisdn()
    response = await call(
        platform,
        "register",
        msisdn,
        "4826",
        name="  Zawadi   Akinyi ",
        id_number="29384756",
        tier="basic",
        language="sw",
    )
    assert response.code is Code.OK, response
    assert response.message == "Welcome, Zawadi Akinyi. Your wallet is ready."
    party = platform.services.directory.by_msisdn(msisdn)
    assert party is not None
    assert (party.kind, party.name, party.kyc_tier, party.language) == (
        PartyKind.CUSTOMER,
        "Zawadi Akinyi",
        "basic",
        "sw",
    )
    assert response.data == {"party_id": party.id, "tier": "basic"}
    assert platform.services.directory.has_role(party.id, Role.CUSTOMER)
    funds = await balance(platform, wallet(party))
    assert funds.available == 0
    # The ID number is kept only as a keyed digest that can check it.
    assert party.id_digest is not None and "29384756" not in party.id_digest
    assert platform.services.vault.id_matches(party.id_digest, "29384756")
    stored = await rows(
        platform,
        "SELECT verifier, failed_attempts, locked FROM pin_credentials WHERE party_id = ?",
        (party.id,),
    )
    assert len(stored) == 1 and "4826" not in stored[0][0] and stored[0][1:] == (0, 0)
    audit = await rows(platform, "SELECT action FROM audit_log WHERE subject_id = ?", (party.id,))
    assert audit == [("register",)]
    await sms_containing(platform, msisdn, "Karibu M-PESA, ZAWADI AKINYI")
    # The PIN chosen at registration is the PIN from now on.
    assert (await call(platform, "balance", msisdn, "4826")).code is Code.OK
    refused(await call(platform, "balance", msisdn, "1357"), Code.WRONG_PIN)


async def test_register_refusals_leave_no_party(world: World) -> None:
    platform = world.platform
    msisdn = world.msisdn()
    good = {"name": "Baraka Otieno", "id_number": "11223344"}
    cases: list[tuple[dict[str, str], str | None, Code, str]] = [
        ({**good, "name": "R2-D2"}, "4826", Code.INVALID_INPUT, "name:"),
        ({**good, "name": "B" * 81}, "4826", Code.INVALID_INPUT, "name:"),
        ({"id_number": "11223344"}, "4826", Code.INVALID_INPUT, "name is required"),
        ({**good, "id_number": "11-22"}, "4826", Code.INVALID_INPUT, "id_number:"),
        ({**good, "language": "fr"}, "4826", Code.INVALID_INPUT, "language: one of en, sw"),
        ({**good, "tier": "gold"}, "4826", Code.INVALID_INPUT, "tier: one of"),
        (good, None, Code.INVALID_INPUT, "choose a PIN"),
        (good, "1111", Code.WEAK_PIN, "not easy to guess"),
        (good, "1234", Code.WEAK_PIN, "not easy to guess"),
        (good, "9876", Code.WEAK_PIN, "not easy to guess"),
    ]
    for params, pin, code, text in cases:
        refused(await call(platform, "register", msisdn, pin, **params), code, text)
    # A PIN sealed for another request cannot be opened.
    request = request_of(platform, "register", msisdn, "4826", **good)
    stolen = request._replace(id=f"{request.id}-other")
    refused(await platform.request(stolen), Code.INVALID_INPUT, "could not be read")
    assert platform.services.directory.by_msisdn(msisdn) is None
    assert await rows(platform, "SELECT id FROM parties WHERE msisdn = ?", (msisdn,)) == []
    # Registered once; the second time is refused and changes nothing.
    assert (await call(platform, "register", msisdn, "4826", **good)).code is Code.OK
    again = await call(platform, "register", msisdn, "5937", name="Someone Else", id_number="1")
    refused(again, Code.ALREADY_REGISTERED)
    party = platform.services.directory.by_msisdn(msisdn)
    assert party is not None and party.name == "Baraka Otieno"
    assert (await call(platform, "balance", msisdn, "4826")).code is Code.OK


# -- send money -------------------------------------------------------------------------


async def test_send_money_moves_amount_fee_and_excise_and_tells_both(world: World) -> None:
    platform = world.platform
    payer = await world.customer(5_000, name="Amina Wanjiru")
    payee = await world.customer(name="Juma Hassan")
    assert payer.msisdn is not None and payee.msisdn is not None
    fees_before = await available(platform, FEES)
    excise_before = await available(platform, EXCISE)
    response = await call(
        platform,
        "send_money",
        payer.msisdn,
        CUSTOMER_PIN,
        to="0" + payee.msisdn[3:],
        amount="1,000",
    )
    assert response.code is Code.OK, response
    assert response.receipt is not None and len(response.receipt) == 10
    local = "0" + payee.msisdn[3:]
    assert response.message == (
        f"Ksh1,000.00 sent to JUMA HASSAN {local}. Transaction cost Ksh13.00."
    )
    assert response.data["balance"] == 3_987 * KSH
    assert (response.data["amount"], response.data["fee"]) == (1_000 * KSH, 13 * KSH)
    assert await available(platform, wallet(payer)) == 3_987 * KSH
    assert await available(platform, wallet(payee)) == 1_000 * KSH
    # 13.00 of fee, of which 15/115 is excise duty: 1.70.
    assert await available(platform, FEES) - fees_before == 1_130
    assert await available(platform, EXCISE) - excise_before == 170
    receipt = await rows(
        platform,
        "SELECT status, product, payer_id, payee_id, amount, fee, excise, usage FROM receipts"
        " WHERE receipt = ?",
        (response.receipt,),
    )
    assert receipt == [
        ("completed", "send_money", payer.id, payee.id, 1_000 * KSH, 13 * KSH, 170, 1_000 * KSH)
    ]
    text = await sms_containing(platform, payer.msisdn, response.receipt)
    assert "Ksh1,000.00 sent to JUMA HASSAN" in text and "New M-PESA balance is Ksh3,987.00" in text
    text = await sms_containing(platform, payee.msisdn, response.receipt)
    assert "received Ksh1,000.00 from AMINA WANJIRU" in text
    assert "New M-PESA balance is Ksh1,000.00" in text
    usage = await rows(
        platform,
        "SELECT used FROM daily_usage WHERE party_id = ? AND kind = 'value'",
        (payer.id,),
    )
    assert usage == [(1_000 * KSH,)]


async def test_send_money_refusals_move_nothing(world: World) -> None:
    platform = world.platform
    payer = await world.customer(2_000)
    payee = await world.customer()
    frozen = await world.set_state(await world.customer(100), PartyState.FROZEN)
    assert payer.msisdn and payee.msisdn and frozen.msisdn
    stranger = world.msisdn()
    store = world.agent_store
    assert store.msisdn is not None
    cases: list[tuple[str, str | None, dict[str, str], Code, str | None]] = [
        (stranger, CUSTOMER_PIN, {"to": payee.msisdn, "amount": "10"}, Code.NOT_REGISTERED, None),
        (store.msisdn, AGENT_PIN, {"to": payee.msisdn, "amount": "10"}, Code.NOT_ALLOWED, None),
        (
            frozen.msisdn,
            CUSTOMER_PIN,
            {"to": payee.msisdn, "amount": "10"},
            Code.ACCOUNT_INACTIVE,
            None,
        ),
        (payer.msisdn, CUSTOMER_PIN, {"amount": "10"}, Code.INVALID_INPUT, "to is required"),
        (payer.msisdn, CUSTOMER_PIN, {"to": "12", "amount": "10"}, Code.INVALID_INPUT, "to:"),
        (payer.msisdn, CUSTOMER_PIN, {"to": payee.msisdn}, Code.INVALID_INPUT, "amount"),
        (
            payer.msisdn,
            CUSTOMER_PIN,
            {"to": payee.msisdn, "amount": "ten"},
            Code.INVALID_INPUT,
            "amount:",
        ),
        (
            payer.msisdn,
            CUSTOMER_PIN,
            {"to": payee.msisdn, "amount": "1.234"},
            Code.INVALID_INPUT,
            "amount:",
        ),
        (
            payer.msisdn,
            CUSTOMER_PIN,
            {"to": payee.msisdn, "amount": "0"},
            Code.INVALID_INPUT,
            "more than zero",
        ),
        (
            payer.msisdn,
            CUSTOMER_PIN,
            {"to": payee.msisdn, "amount": "-5"},
            Code.INVALID_INPUT,
            "amount",
        ),
        (
            payer.msisdn,
            CUSTOMER_PIN,
            {"to": stranger, "amount": "10"},
            Code.RECIPIENT_NOT_REGISTERED,
            None,
        ),
        (payer.msisdn, CUSTOMER_PIN, {"to": payer.msisdn, "amount": "10"}, Code.SAME_ACCOUNT, None),
        (
            payer.msisdn,
            CUSTOMER_PIN,
            {"to": store.msisdn, "amount": "10"},
            Code.ACCOUNT_INACTIVE,
            "cannot receive",
        ),
        (
            payer.msisdn,
            CUSTOMER_PIN,
            {"to": frozen.msisdn, "amount": "10"},
            Code.ACCOUNT_INACTIVE,
            "cannot receive",
        ),
        (
            payer.msisdn,
            CUSTOMER_PIN,
            {"to": payee.msisdn, "amount": "0.50"},
            Code.BELOW_MINIMUM,
            "Ksh1.00",
        ),
        (
            payer.msisdn,
            CUSTOMER_PIN,
            {"to": payee.msisdn, "amount": "250001"},
            Code.ABOVE_MAXIMUM,
            "Ksh250,000.00",
        ),
        (
            payer.msisdn,
            CUSTOMER_PIN,
            {"to": payee.msisdn, "amount": "3000"},
            Code.INSUFFICIENT_FUNDS,
            None,
        ),
        (
            payer.msisdn,
            None,
            {"to": payee.msisdn, "amount": "10"},
            Code.INVALID_INPUT,
            "PIN is required",
        ),
        (payer.msisdn, "9999", {"to": payee.msisdn, "amount": "10"}, Code.WRONG_PIN, "4 tries"),
    ]
    for msisdn, pin, params, code, text in cases:
        response = await call(platform, "send_money", msisdn, pin, **params)
        refused(response, code, text)
    assert await available(platform, wallet(payer)) == 2_000 * KSH
    assert await available(platform, wallet(payee)) == 0
    # The wrong PIN above counted; the right one resets the count.
    assert platform.services.directory.credentials[payer.id].failed_attempts == 1
    ok = await call(platform, "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="5")
    assert ok.code is Code.OK
    assert platform.services.directory.credentials[payer.id].failed_attempts == 0


async def test_send_money_tier_limits_and_recipient_limit(world: World) -> None:
    platform = world.platform
    # Basic tier: 20,000 a time, 50,000 a day, 50,000 held.
    sender = await world.customer(45_000, tier="basic")
    full = await world.customer(tier="full")
    nearly_full = await world.customer(49_500, tier="basic")
    assert sender.msisdn and full.msisdn and nearly_full.msisdn
    refused(
        await call(
            platform, "send_money", sender.msisdn, CUSTOMER_PIN, to=full.msisdn, amount="20001"
        ),
        Code.LIMIT_EXCEEDED,
        "Ksh20,000.00 at a time",
    )
    refused(
        await call(
            platform,
            "send_money",
            sender.msisdn,
            CUSTOMER_PIN,
            to=nearly_full.msisdn,
            amount="1000",
        ),
        Code.RECIPIENT_LIMIT,
    )
    for _ in range(2):
        ok = await call(
            platform, "send_money", sender.msisdn, CUSTOMER_PIN, to=full.msisdn, amount="20000"
        )
        assert ok.code is Code.OK, ok
    over = await call(
        platform, "send_money", sender.msisdn, CUSTOMER_PIN, to=full.msisdn, amount="10001"
    )
    refused(over, Code.DAILY_LIMIT_EXCEEDED, "Ksh10,000.00 more today")
    assert over.data == {"remaining": 10_000 * KSH}
    assert await available(platform, wallet(nearly_full)) == 49_500 * KSH
    assert await available(platform, wallet(full)) == 40_000 * KSH


async def test_pin_not_set_and_pin_locked(world: World) -> None:
    platform = world.platform
    payee = await world.customer()
    no_pin = await world.add_party(
        PartyKind.CUSTOMER,
        "No Pin",
        msisdn=world.msisdn(),
        purposes=(Purpose.WALLET,),
        roles=(Role.CUSTOMER,),
        tier="full",
    )
    assert no_pin.msisdn and payee.msisdn
    refused(
        await call(platform, "send_money", no_pin.msisdn, "4826", to=payee.msisdn, amount="1"),
        Code.PIN_NOT_SET,
    )
    payer = await world.customer(100)
    assert payer.msisdn
    attempts_max = platform.services.profile(platform.clock()).pin_attempts_max
    codes = [
        (await call(platform, "balance", payer.msisdn, "9999")).code for _ in range(attempts_max)
    ]
    assert codes == [Code.WRONG_PIN] * (attempts_max - 1) + [Code.PIN_LOCKED]
    refused(
        await call(platform, "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="1"),
        Code.PIN_LOCKED,
        "locked",
    )
    assert await available(platform, wallet(payer)) == 100 * KSH


# -- deposit ----------------------------------------------------------------------------


async def test_deposit_by_store_and_by_assistant_pays_commission(world: World) -> None:
    platform = world.platform
    office, store, assistant = await world.agent_with_assistant(100_000 * KSH)
    client = await world.customer(name="Kamau Njoroge")
    assert store.msisdn and assistant.msisdn and client.msisdn
    commission = account_id(office.id, Purpose.COMMISSION)
    float_account = account_id(store.id, Purpose.FLOAT)
    response = await call(
        platform, "deposit", store.msisdn, AGENT_PIN, to=client.msisdn, amount="5000"
    )
    assert response.code is Code.OK, response
    assert response.message == f"Deposited Ksh5,000.00 to KAMAU NJOROGE 0{client.msisdn[3:]}."
    assert response.data["commission"] == 14 * KSH
    assert response.data["balance"] == 95_000 * KSH
    # The assistant deposits from the store's float, in the store's name.
    by_assistant = await call(
        platform, "deposit", assistant.msisdn, AGENT_PIN, to=client.msisdn, amount="100"
    )
    assert by_assistant.code is Code.OK, by_assistant
    assert await available(platform, wallet(client)) == 5_100 * KSH
    assert await available(platform, float_account) == 94_900 * KSH
    # Commission bands: 3,511-5,010 pays 14; 50-100 pays 3.
    assert await available(platform, commission) == 17 * KSH
    assert response.receipt is not None
    text = await sms_containing(platform, client.msisdn, response.receipt)
    assert "Give Ksh5,000.00 cash to SHOP" in text and "balance is Ksh5,000.00" in text
    text = await sms_containing(platform, store.msisdn, response.receipt)
    assert "Take Ksh5,000.00 cash from KAMAU NJOROGE" in text
    assert "New float balance is Ksh95,000.00" in text


async def test_deposit_refusals(world: World) -> None:
    platform = world.platform
    _, small, _ = await world.agent_with_assistant(1_000 * KSH)
    client = await world.customer()
    nearly_full = await world.customer(49_500, tier="basic")
    frozen = await world.set_state(await world.customer(), PartyState.FROZEN)
    store = world.agent_store
    assert small.msisdn and client.msisdn and nearly_full.msisdn and frozen.msisdn
    assert store.msisdn
    stranger = world.msisdn()
    cases: list[tuple[str, str, dict[str, str], Code, str | None]] = [
        (
            client.msisdn,
            CUSTOMER_PIN,
            {"to": client.msisdn, "amount": "100"},
            Code.NOT_ALLOWED,
            None,
        ),
        (stranger, AGENT_PIN, {"to": client.msisdn, "amount": "100"}, Code.NOT_REGISTERED, None),
        (
            store.msisdn,
            AGENT_PIN,
            {"to": stranger, "amount": "100"},
            Code.RECIPIENT_NOT_REGISTERED,
            None,
        ),
        (
            store.msisdn,
            AGENT_PIN,
            {"to": frozen.msisdn, "amount": "100"},
            Code.ACCOUNT_INACTIVE,
            "cannot transact",
        ),
        (
            store.msisdn,
            AGENT_PIN,
            {"to": client.msisdn, "amount": "49"},
            Code.BELOW_MINIMUM,
            "Ksh50.00",
        ),
        (
            store.msisdn,
            AGENT_PIN,
            {"to": client.msisdn, "amount": "250001"},
            Code.ABOVE_MAXIMUM,
            None,
        ),
        (store.msisdn, "1111", {"to": client.msisdn, "amount": "100"}, Code.WRONG_PIN, None),
        (
            small.msisdn,
            AGENT_PIN,
            {"to": client.msisdn, "amount": "1001"},
            Code.INSUFFICIENT_FLOAT,
            None,
        ),
        (
            store.msisdn,
            AGENT_PIN,
            {"to": nearly_full.msisdn, "amount": "1000"},
            Code.RECIPIENT_LIMIT,
            None,
        ),
    ]
    for msisdn, pin, params, code, text in cases:
        refused(await call(platform, "deposit", msisdn, pin, **params), code, text)
    assert await available(platform, wallet(client)) == 0
    assert await available(platform, account_id(small.id, Purpose.FLOAT)) == 1_000 * KSH
    assert await available(platform, wallet(nearly_full)) == 49_500 * KSH


# -- withdraw ---------------------------------------------------------------------------


async def test_withdraw_at_an_agent_with_fee_excise_and_commission(world: World) -> None:
    platform = world.platform
    office, store, _ = await world.agent_with_assistant(0)
    client = await world.customer(5_000, name="Wanjiku Kamau")
    assert client.msisdn and store.msisdn and store.number
    agent_number = store.number.split("/")[0]
    fees_before = await available(platform, FEES)
    excise_before = await available(platform, EXCISE)
    response = await call(
        platform,
        "withdraw",
        client.msisdn,
        CUSTOMER_PIN,
        agent=agent_number,
        store="1",
        amount="2000",
    )
    assert response.code is Code.OK, response
    assert response.message == (
        f"Withdraw Ksh2,000.00 from {agent_number} - SHOP {agent_number}."
        " Transaction cost Ksh29.00."
    )
    assert await available(platform, wallet(client)) == 2_971 * KSH
    assert await available(platform, account_id(store.id, Purpose.FLOAT)) == 2_000 * KSH
    # 29.00 fee: 3.78 excise, 9.00 commission to the head office, the rest fee income.
    assert await available(platform, EXCISE) - excise_before == 378
    assert await available(platform, account_id(office.id, Purpose.COMMISSION)) == 9 * KSH
    assert await available(platform, FEES) - fees_before == 2_900 - 378 - 900
    assert response.receipt is not None
    text = await sms_containing(platform, client.msisdn, response.receipt)
    assert f"Withdraw Ksh2,000.00 from {agent_number} - SHOP {agent_number}" in text
    assert "balance is Ksh2,971.00" in text and "Transaction cost, Ksh29.00" in text
    text = await sms_containing(platform, store.msisdn, response.receipt)
    assert "Give Ksh2,000.00 cash to WANJIKU KAMAU" in text


async def test_withdraw_refusals(world: World) -> None:
    platform = world.platform
    client = await world.customer(1_000)
    basic = await world.customer(30_000, tier="basic")
    store = world.agent_store
    assert client.msisdn and basic.msisdn and store.msisdn and store.number
    agent_number = store.number.split("/")[0]
    cases: list[tuple[str, str, dict[str, str], Code, str | None]] = [
        (
            client.msisdn,
            CUSTOMER_PIN,
            {"agent": "000001", "amount": "100"},
            Code.UNKNOWN_AGENT,
            None,
        ),
        (
            client.msisdn,
            CUSTOMER_PIN,
            {"agent": agent_number, "store": "9", "amount": "100"},
            Code.UNKNOWN_AGENT,
            None,
        ),
        (client.msisdn, CUSTOMER_PIN, {"amount": "100"}, Code.INVALID_INPUT, "agent is required"),
        (store.msisdn, AGENT_PIN, {"agent": agent_number, "amount": "100"}, Code.NOT_ALLOWED, None),
        (
            client.msisdn,
            CUSTOMER_PIN,
            {"agent": agent_number, "amount": "49"},
            Code.BELOW_MINIMUM,
            "Ksh50.00",
        ),
        (
            basic.msisdn,
            CUSTOMER_PIN,
            {"agent": agent_number, "amount": "25000"},
            Code.LIMIT_EXCEEDED,
            None,
        ),
        (
            client.msisdn,
            CUSTOMER_PIN,
            {"agent": agent_number, "amount": "990"},
            Code.INSUFFICIENT_FUNDS,
            None,
        ),
        (client.msisdn, "2222", {"agent": agent_number, "amount": "100"}, Code.WRONG_PIN, None),
    ]
    for msisdn, pin, params, code, text in cases:
        refused(await call(platform, "withdraw", msisdn, pin, **params), code, text)
    assert await available(platform, wallet(client)) == 1_000 * KSH
    assert await available(platform, wallet(basic)) == 30_000 * KSH


# -- balance and mini statement ------------------------------------------------------------


async def test_balance_of_each_kind_of_holder_and_money_on_hold(world: World) -> None:
    platform = world.platform
    office, store, assistant = await world.agent_with_assistant(7_000 * KSH)
    client = await world.customer(3_000)
    payee = await world.customer()
    assert client.msisdn and payee.msisdn and store.msisdn and assistant.msisdn and office.msisdn
    response = await call(platform, "balance", client.msisdn, CUSTOMER_PIN)
    assert response.code is Code.OK
    assert response.message == "Your wallet balance is Ksh3,000.00."
    assert response.data == {
        "account": "wallet",
        "balance": 300_000,
        "reserved": 0,
        "incoming": 0,
        "currency": "KES",
    }
    # A send on the API channel waits for its delivery: the money is on hold, not gone.
    pending = await call(
        platform,
        "send_money",
        client.msisdn,
        CUSTOMER_PIN,
        to=payee.msisdn,
        amount="1000",
        ack=False,
    )
    assert pending.code is Code.OK
    held = await call(platform, "balance", client.msisdn, CUSTOMER_PIN, channel=Channel.SYSTEM)
    assert held.data["balance"] == 1_987 * KSH and held.data["reserved"] == 1_013 * KSH
    assert held.message.endswith("Ksh1,013.00 is on hold.")
    incoming = await call(platform, "balance", payee.msisdn, CUSTOMER_PIN, channel=Channel.SYSTEM)
    assert incoming.data["balance"] == 0 and incoming.data["incoming"] == 1_000 * KSH
    assert await platform.acknowledge(pending.request_id)
    after = await call(platform, "balance", payee.msisdn, CUSTOMER_PIN)
    assert after.data["balance"] == 1_000 * KSH and after.data["incoming"] == 0
    store_balance = await call(platform, "balance", store.msisdn, AGENT_PIN)
    assert store_balance.data["account"] == "float"
    assert store_balance.data["balance"] == 7_000 * KSH
    assistant_balance = await call(platform, "balance", assistant.msisdn, AGENT_PIN)
    assert assistant_balance.data["account"] == "float"
    assert assistant_balance.data["balance"] == 7_000 * KSH
    office_balance = await call(platform, "balance", office.msisdn, AGENT_PIN)
    assert office_balance.data["account"] == "commission"
    refused(await call(platform, "balance", world.msisdn(), CUSTOMER_PIN), Code.NOT_REGISTERED)
    refused(await call(platform, "balance", client.msisdn, "8024"), Code.WRONG_PIN)
    refused(await call(platform, "balance", client.msisdn), Code.INVALID_INPUT, "PIN is required")


async def test_mini_statement_shows_the_last_five_newest_first(world: World) -> None:
    platform = world.platform
    client = await world.customer()
    friend = await world.customer(name="Otieno Odera")
    assert client.msisdn and friend.msisdn
    empty = await call(platform, "mini_statement", client.msisdn, CUSTOMER_PIN)
    assert empty.code is Code.OK
    assert (empty.message, empty.data) == ("No transactions yet.", {"entries": []})
    await world.deposit(client, 10_000 * KSH)
    receipts = []
    for amount in (100, 200, 300, 400, 500, 600):
        sent = await call(
            platform,
            "send_money",
            client.msisdn,
            CUSTOMER_PIN,
            to=friend.msisdn,
            amount=str(amount),
        )
        assert sent.code is Code.OK, sent
        receipts.append(sent.receipt)
    statement = await call(platform, "mini_statement", client.msisdn, CUSTOMER_PIN)
    assert statement.code is Code.OK
    entries = statement.data["entries"]
    assert [entry["receipt"] for entry in entries] == receipts[::-1][:5]
    # 600 sent at a cost of 13 (501-1,000), 500 at a cost of 7 (101-500).
    assert [entry["amount"] for entry in entries[:2]] == [-613 * KSH, -507 * KSH]
    assert all(entry["description"] == "Sent to OTIENO ODERA" for entry in entries)
    assert entries[0]["balance"] == await available(platform, wallet(client))
    assert statement.message.startswith(f"{receipts[-1]} Sent to OTIENO ODERA -Ksh613.00")
    received = await call(platform, "mini_statement", friend.msisdn, CUSTOMER_PIN)
    assert received.data["entries"][0]["description"] == "Received from AMINA WANJIRU"
    assert received.data["entries"][0]["amount"] == 600 * KSH
    refused(await call(platform, "mini_statement", client.msisdn, "8024"), Code.WRONG_PIN)
    refused(
        await call(platform, "mini_statement", world.msisdn(), CUSTOMER_PIN), Code.NOT_REGISTERED
    )


# -- change PIN ---------------------------------------------------------------------------


async def test_change_pin_replaces_the_pin_and_tells_the_owner(world: World) -> None:
    platform = world.platform
    client = await world.customer()
    assert client.msisdn
    changed = await call(platform, "change_pin", client.msisdn, CUSTOMER_PIN, new_pin="2580")
    assert changed.code is Code.OK, changed
    assert changed.message == "Your PIN has been changed."
    refused(await call(platform, "balance", client.msisdn, CUSTOMER_PIN), Code.WRONG_PIN)
    assert (await call(platform, "balance", client.msisdn, "2580")).code is Code.OK
    await sms_containing(platform, client.msisdn, "Your M-PESA PIN was changed")
    audit = await rows(
        platform, "SELECT action FROM audit_log WHERE subject_id = ? ORDER BY at", (client.id,)
    )
    assert audit == [("register",), ("pin_change",)]


async def test_change_pin_refusals_keep_the_old_pin(world: World) -> None:
    platform = world.platform
    client = await world.customer()
    assert client.msisdn
    refused(
        await call(platform, "change_pin", client.msisdn, "9999", new_pin="2580"), Code.WRONG_PIN
    )
    refused(
        await call(platform, "change_pin", client.msisdn, CUSTOMER_PIN, new_pin="4444"),
        Code.WEAK_PIN,
    )
    refused(await call(platform, "change_pin", client.msisdn, CUSTOMER_PIN), Code.INVALID_INPUT)
    # A new PIN sealed for another request, or not sealed at all, is refused, not trusted.
    other = request_of(platform, "change_pin", client.msisdn, CUSTOMER_PIN, new_pin="2580")
    mine = request_of(platform, "change_pin", client.msisdn, CUSTOMER_PIN)
    for sealed in (other.new_pin, SealedPin(b"not a sealed PIN")):
        forged = mine._replace(new_pin=sealed)
        refused(await platform.request(forged), Code.INVALID_INPUT, "new PIN could not be read")
    refused(
        await call(platform, "change_pin", world.msisdn(), CUSTOMER_PIN, new_pin="2580"),
        Code.NOT_REGISTERED,
    )
    assert (await call(platform, "balance", client.msisdn, CUSTOMER_PIN)).code is Code.OK


# -- name look-up -------------------------------------------------------------------------


async def test_name_lookup_masks_names_of_every_kind(world: World) -> None:
    platform = world.platform
    asker = await world.customer()
    target = await world.customer(name="Wanjiku Kamau")
    till = await world.add_party(
        PartyKind.MERCHANT,
        "Mama Oliech Hotel",
        msisdn=world.msisdn(),
        number="719283",
        purposes=(Purpose.TILL,),
        roles=(Role.MERCHANT,),
        pin=BUSINESS_PIN,
    )
    paybill = await world.add_party(
        PartyKind.ORGANISATION,
        "Nairobi Water",
        number="717171",
        purposes=(Purpose.UTILITY,),
        roles=(Role.BILLER,),
    )
    store = world.agent_store
    assert asker.msisdn and target.msisdn and till.number and store.number
    found = await call(
        platform, "name_lookup", asker.msisdn, number="0" + target.msisdn[3:], channel=Channel.USSD
    )
    assert found.code is Code.OK
    assert found.message == "WANJIKU K****"
    masked_number = f"0{target.msisdn[3:6]}***{target.msisdn[-3:]}"
    assert found.data == {"name": "WANJIKU K****", "number": masked_number, "lookups_left": 4}
    by_till = await call(
        platform, "name_lookup", asker.msisdn, kind="till", number="719283", channel=Channel.USSD
    )
    assert by_till.message == "MAMA O***** H****"
    by_paybill = await call(
        platform, "name_lookup", asker.msisdn, kind="paybill", number="717171", channel=Channel.USSD
    )
    assert (by_paybill.message, by_paybill.data["number"]) == ("NAIROBI W****", "")
    agent_number = store.number.split("/")[0]
    by_agent = await call(
        platform,
        "name_lookup",
        asker.msisdn,
        kind="agent",
        number=agent_number,
        channel=Channel.USSD,
    )
    assert by_agent.message.startswith("SHOP ")
    assert by_agent.data["lookups_left"] == 1
    assert paybill.id != till.id


async def test_name_lookup_refusals_and_the_daily_cap(world: World) -> None:
    platform = world.platform
    asker = await world.customer()
    assert asker.msisdn
    refused(
        await call(
            platform, "name_lookup", world.msisdn(), number=asker.msisdn, channel=Channel.USSD
        ),
        Code.NOT_REGISTERED,
    )
    refused(
        await call(
            platform, "name_lookup", asker.msisdn, kind="bank", number="1", channel=Channel.USSD
        ),
        Code.INVALID_INPUT,
        "kind:",
    )
    misses = [
        ({"number": world.msisdn()}, Code.RECIPIENT_NOT_REGISTERED),
        ({"kind": "till", "number": "000000"}, Code.UNKNOWN_TILL),
        ({"kind": "paybill", "number": "000000"}, Code.UNKNOWN_PAYBILL),
        ({"kind": "agent", "number": "000000"}, Code.UNKNOWN_AGENT),
    ]
    for params, code in misses:
        refused(
            await call(platform, "name_lookup", asker.msisdn, **params, channel=Channel.USSD), code
        )
    # Every look-up counts, found or not: the fifth is the last of the day.
    fifth = await call(
        platform, "name_lookup", asker.msisdn, number=asker.msisdn, channel=Channel.USSD
    )
    assert fifth.code is Code.OK and fifth.data["lookups_left"] == 0
    refused(
        await call(
            platform, "name_lookup", asker.msisdn, number=asker.msisdn, channel=Channel.USSD
        ),
        Code.NAME_LOOKUP_LIMIT,
    )
    used = await rows(
        platform,
        "SELECT used FROM daily_usage WHERE party_id = ? AND kind = 'lookups'",
        (asker.id,),
    )
    assert used == [(5,)]


async def test_unknown_product(world: World) -> None:
    client = await world.customer()
    assert client.msisdn
    refused(
        await call(world.platform, "lend_money", client.msisdn, CUSTOMER_PIN),
        Code.UNKNOWN_PRODUCT,
        "lend_money",
    )
