"""Nobody acts for another phone through TranProc: replays, PIN-less products, the backstop.

Found by an attacker: a replayed idempotency key returned a balance and a mini
statement with no PIN or a wrong one; a name look-up or a language choice sent
for someone else's number spent that number's look-ups or changed its language.
Each test asks as the attacker would and checks what the victim would see.
"""

from __future__ import annotations

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.commands import COMMANDS
from mkoba.commands.catalog import NoInput, PayPerson
from mkoba.processor.context import Context
from mkoba.processor.guarded import Guarded, Posting
from mkoba.processor.plan import Leg, Plan, Record
from mkoba.processor.proof import Proof, proof_of
from mkoba.processor.request import Callback, Channel, Response
from mkoba.products import all_products
from tests.conftest import MakePlatform
from tests.products.world import CUSTOMER_PIN, KSH, World, refused, wallet

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    return await make_platform("another")


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    return World(platform)


async def test_a_replayed_balance_needs_the_pin_again(world: World) -> None:
    victim = await world.customer(1_234)
    assert victim.msisdn
    first = await world.ask("balance", victim.msisdn, CUSTOMER_PIN, request_id="bal-1")
    assert first.code is Code.OK and "1,234.00" in first.message
    # The same key, no PIN: nothing of the answer comes back.
    bare = await world.ask("balance", victim.msisdn, request_id="bal-1")
    refused(bare, Code.INVALID_INPUT, "PIN")
    assert "1,234" not in bare.message and not bare.data
    # A wrong PIN: refused, and counted like any wrong try.
    wrong = await world.ask("balance", victim.msisdn, "0000", request_id="bal-1")
    refused(wrong, Code.WRONG_PIN)
    assert wrong.data["attempts_left"] == 4
    # The right PIN: the first answer, byte for byte.
    again = await world.ask("balance", victim.msisdn, CUSTOMER_PIN, request_id="bal-1")
    assert again == first


async def test_a_replayed_mini_statement_refuses_a_stranger(world: World) -> None:
    victim = await world.customer(500)
    assert victim.msisdn
    first = await world.ask("mini_statement", victim.msisdn, CUSTOMER_PIN, request_id="ms-1")
    assert first.ok
    for pin in (None, "1111", "0000"):
        stolen = await world.ask("mini_statement", victim.msisdn, pin, request_id="ms-1")
        assert not stolen.ok and "entries" not in stolen.data


async def test_a_replayed_wrong_pin_is_not_counted_twice(world: World) -> None:
    victim = await world.customer(100)
    assert victim.msisdn
    first = await world.ask("balance", victim.msisdn, "0000", request_id="wrong-1")
    refused(first, Code.WRONG_PIN)
    # The client retries the very same attempt (it never saw the answer).
    retry = await world.ask("balance", victim.msisdn, "0000", request_id="wrong-1")
    assert retry == first
    assert world.services.directory.credentials[victim.id].failed_attempts == 1


async def test_a_replay_cannot_guess_pins_for_free(world: World) -> None:
    victim = await world.customer(100)
    assert victim.msisdn
    assert (await world.ask("balance", victim.msisdn, CUSTOMER_PIN, request_id="guess")).ok
    answers = [
        await world.ask("balance", victim.msisdn, f"{guess:04d}", request_id="guess")
        for guess in range(1000, 1006)
    ]
    assert [answer.code for answer in answers][-1] is Code.PIN_LOCKED
    assert all("100.00" not in answer.message for answer in answers)
    # Locked for every new request, the right PIN included.
    refused(await world.ask("balance", victim.msisdn, CUSTOMER_PIN), Code.PIN_LOCKED)


async def test_a_retried_pin_change_is_answered_as_the_first(world: World) -> None:
    customer = await world.customer(100)
    assert customer.msisdn
    changed = await world.ask(
        "change_pin", customer.msisdn, CUSTOMER_PIN, new_pin="8024", request_id="chg-1"
    )
    assert changed.ok
    # The client never saw the answer and sends the same request (the old PIN) again.
    retry = await world.ask(
        "change_pin", customer.msisdn, CUSTOMER_PIN, new_pin="8024", request_id="chg-1"
    )
    assert retry == changed
    assert world.services.directory.credentials[customer.id].failed_attempts == 0


async def test_a_name_lookup_for_another_number_spends_nothing(world: World) -> None:
    victim = await world.customer()
    target = await world.customer()
    assert victim.msisdn and target.msisdn
    for _ in range(6):
        snoop = await world.ask("name_lookup", victim.msisdn, kind="msisdn", number=target.msisdn)
        refused(snoop, Code.INVALID_INPUT, "PIN")
    used = await world.rows(
        "SELECT used FROM daily_usage WHERE party_id = ? AND kind = 'lookups'", (victim.id,)
    )
    assert used == []
    # The victim's own look-ups are all still there, on the phone or with the PIN.
    mine = await world.ask(
        "name_lookup", victim.msisdn, kind="msisdn", number=target.msisdn, channel=Channel.USSD
    )
    assert mine.ok and mine.data["lookups_left"] == 4
    with_pin = await world.ask(
        "name_lookup", victim.msisdn, CUSTOMER_PIN, kind="msisdn", number=target.msisdn
    )
    assert with_pin.ok and with_pin.data["lookups_left"] == 3


async def test_a_language_for_another_number_changes_nothing(world: World) -> None:
    victim = await world.customer()
    assert victim.msisdn
    refused(
        await world.ask("set_language", victim.msisdn, language="sw"), Code.INVALID_INPUT, "PIN"
    )
    refused(await world.ask("set_language", victim.msisdn, "0000", language="sw"), Code.WRONG_PIN)
    assert world.party(victim.msisdn).language == "en"
    assert (await world.ask("set_language", victim.msisdn, CUSTOMER_PIN, language="sw")).ok
    assert world.party(victim.msisdn).language == "sw"


async def test_registering_or_unlocking_needs_the_phone_itself(world: World) -> None:
    stranger = world.msisdn()
    victim = await world.customer()
    assert victim.msisdn
    squat = await world.ask(
        "register", stranger, "4826", phone=False, name="Not Them", id_number="X1"
    )
    refused(squat, Code.NOT_ALLOWED, "from the phone")
    assert world.services.directory.by_msisdn(stranger) is None
    unlock = await world.ask(
        "pin_unlock_self", victim.msisdn, phone=False, new_pin="8024", id_number="X"
    )
    refused(unlock, Code.NOT_ALLOWED, "from the phone")
    # The same from the phone (a USSD session) is served.
    own = await world.ask(
        "register", stranger, "4826", channel=Channel.USSD, name="Them Selves", id_number="X1"
    )
    assert own.code is Code.OK, own


async def test_business_products_only_on_a_business_channel(world: World) -> None:
    customer = await world.customer(100)
    assert customer.msisdn
    business = [
        name for name, product in all_products().items() if proof_of(product) is Proof.BUSINESS
    ]
    assert {"b2c", "b2b", "account_balance", "transaction_status"} <= set(business)
    for name in business:
        # Well-formed fields for each of them: what is refused is who asks, and where.
        answer = await world.ask(
            name,
            customer.msisdn,
            CUSTOMER_PIN,
            shortcode="600000",
            command="BusinessPayment",
            to=customer.msisdn,
            amount="10",
            target="600001",
            account="A1",
            receipt="UKN3QX7T2B",
        )
        refused(answer, Code.NOT_ALLOWED, "business")


async def test_a_product_that_forgets_the_pin_cannot_answer_ok(
    platform: Platform, world: World
) -> None:
    customer = await world.customer(100)
    assert customer.msisdn

    class Careless:
        """Answers OK without checking anything: the processor must refuse it."""

        name = "careless"

        async def run(self, ctx: object) -> Response | Record:
            return Response("x", Code.OK, "done")

    platform.processor.products["careless"] = Careless()
    COMMANDS["careless"] = NoInput  # a product's command is declared with it
    try:
        answer = await world.ask("careless", customer.msisdn, CUSTOMER_PIN)
        refused(answer, Code.SYSTEM_ERROR)
        # Where the channel knows the phone and the product needs only that, it may.
        Careless.proof = Proof.PHONE  # type: ignore[attr-defined]
        assert (await world.ask("careless", customer.msisdn, channel=Channel.USSD)).ok
        refused(await world.ask("careless", customer.msisdn), Code.SYSTEM_ERROR)
    finally:
        del platform.processor.products["careless"]
        del COMMANDS["careless"]


async def test_a_guarded_decision_that_forgets_the_pin_moves_nothing(
    platform: Platform, world: World
) -> None:
    # A decision TranProc makes under a record's lock is vouched for before its money
    # moves: a product that needed the PIN and never checked it posts nothing.
    payer = await world.customer(100)
    payee = await world.customer()
    assert payer.msisdn

    class Sneaky:
        name = "sneaky"

        async def run(self, ctx: Context) -> Guarded[None]:
            async def read() -> None:
                return None

            async def decide(_: None) -> Posting:
                leg = Leg(wallet(payer), wallet(payee), 10 * KSH)
                plan = Plan("sneaky", payer.id, payee.id, 10 * KSH, (leg,))
                answer = Response(ctx.request.id, Code.OK, "moved")
                return Posting(plan, lambda _n, _r: (), lambda _p: Record(answer, payer.id))

            return Guarded("sneaky", read, decide)

    platform.processor.products["sneaky"] = Sneaky()
    COMMANDS["sneaky"] = NoInput
    try:
        refused(await world.ask("sneaky", payer.msisdn, CUSTOMER_PIN), Code.SYSTEM_ERROR)
    finally:
        del platform.processor.products["sneaky"]
        del COMMANDS["sneaky"]
    assert await world.balances(wallet(payer), wallet(payee)) == [100 * KSH, 0]


def test_every_pinless_product_declares_its_proof() -> None:
    # A product that checks no PIN must say what proves the phone instead; the default
    # (PIN) makes the backstop refuse it. This list is what a reviewer must agree to.
    declared = {
        name: proof_of(product)
        for name, product in all_products().items()
        if proof_of(product) is not Proof.PIN
    }
    assert {
        name for name, proof in declared.items() if proof not in (Proof.BUSINESS, Proof.CONSOLE)
    } == {
        "name_lookup",
        "set_language",
        "register",
        "pin_unlock_self",
        "operator_unlock",
        "open_ticket",
        "email_code",
        # The app's validation server texts an enrolment code (only Channel.APP may ask).
        "app_code",
    }
    # What only staff do, asked for by the operator console (no PIN on any channel).
    assert {name for name, proof in declared.items() if proof is Proof.CONSOLE} == {
        "issue_emoney",
        "redeem_emoney",
        "unlock_pin",
        "reset_pin",
        "approve_reversal",
        "reject_reversal",
        "freeze_wallet",
        "unfreeze_wallet",
        "set_kyc_tier",
        "note_ticket",
        "assign_ticket",
        "resolve_ticket",
        "onboard_business",
        "bulk_disbursement",
        "bulk_payment",
    }


@pytest.mark.parametrize("text", ["A\ud800", "nul\x00", "esc\x1b[2J"])
async def test_tranproc_refuses_text_it_cannot_store(world: World, text: str) -> None:
    payer = await world.customer(100)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    answer = await world.ask(
        "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="10", note=text
    )
    refused(answer, Code.INVALID_INPUT, "note contains")
    # Past the edge (a channel that forgot to parse), TranProc's backstop refuses it too.
    request = world.request("send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="10")
    unparsed = request._replace(command=PayPerson(payee.msisdn + text, 1000))
    refused(await world.platform.request(unparsed), Code.INVALID_INPUT, "to contains")
    assert (
        await world.ask("send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="10")
    ).ok


async def test_tranproc_refuses_a_callback_it_cannot_store(world: World) -> None:
    # A channel's callback (an STK push's) is text TranProc stores with the payment's
    # outbox row: the same backstop as the parameters.
    payer = await world.customer(100)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    request = world.request("send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="10")
    bad = request._replace(callback=Callback("ws_CO_1", "m-1", "https://x.example/\ud800"))
    refused(await world.platform.request(bad), Code.INVALID_INPUT, "callback")
    long = request._replace(id=f"{request.id}-2", callback=Callback("ws", "m", "h" * 600))
    refused(await world.platform.request(long), Code.INVALID_INPUT, "callback")
