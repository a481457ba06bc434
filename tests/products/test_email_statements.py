"""Full statements by email: registering an address with a code, then asking for one.

Method: a platform whose mail goes to a folder (no SMTP server: the embedded
default); the test reads the code where its owner would, in the mail, and the SMS
on the handset. Time passing is a code's expiry written back, as the clock would.
"""

from __future__ import annotations

import asyncio
import email
import re
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.ledger import Write, WriteMode
from mkoba.parties import Party
from mkoba.parties.emails import InvalidEmail, mask_email, normalize_email
from mkoba.processor.request import Channel
from mkoba.products.email_statements import months_back
from tests.conftest import MakePlatform
from tests.products.world import CUSTOMER_PIN, World, refused

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory: pytest.TempPathFactory, module_store_url: str) -> Path:
    """Where the platform writes its mail (it has no SMTP server): one folder per store."""
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform, mail_dir: Path) -> Platform:
    """The module's platform, mailing to ``mail_dir``."""
    return await make_platform("email_statements", mail_dir=str(mail_dir))


def mails_to(folder: Path, address: str) -> list[EmailMessage]:
    """The mails written for ``address``, oldest first."""
    found = []
    for path in sorted(folder.glob("*.eml")):
        mail = email.message_from_bytes(path.read_bytes(), policy=default)
        assert isinstance(mail, EmailMessage)
        if mail["To"] == address:
            found.append(mail)
    return found


async def code_for(world: World, folder: Path, address: str, count: int = 1) -> str:
    """The code in the ``count``-th mail to ``address`` (waits for the outbox)."""
    for _ in range(300):
        world.platform.outbox.poke()
        found = mails_to(folder, address)
        if len(found) >= count:
            body = found[count - 1].get_body()
            assert body is not None
            match = re.search(r"Your code is ([0-9]{6})\.", body.get_content())
            assert match, body.get_content()
            return match[1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no mail number {count} to {address}")


async def ask_code(world: World, party: Party, address: str) -> object:
    return await world.ask("email_code", party.msisdn or "", channel=Channel.USSD, address=address)


async def register(world: World, party: Party, code: str, pin: str = CUSTOMER_PIN) -> object:
    return await world.ask("register_email", party.msisdn or "", pin, code=code)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_an_address_is_registered_with_the_code_it_was_sent_and_the_pin(
    world: World, mail_dir: Path
) -> None:
    await world.setup()
    client = await world.customer()
    sent = await ask_code(world, client, "  Amina.W+mpesa@Example.COM ")
    assert sent.code is Code.OK, sent
    assert sent.data["email"] == "A***@example.com"
    address = "Amina.W+mpesa@example.com"
    code = await code_for(world, mail_dir, address)
    # The table holds a digest, bound to the customer: never the code.
    ((stored, msisdn),) = await world.rows(
        "SELECT digest, msisdn FROM email_codes WHERE party_id = ?", (client.id,)
    )
    assert code not in stored and msisdn == client.msisdn
    assert world.services.directory.email(client.id) is None

    refused(await register(world, client, code, pin="9999"), Code.WRONG_PIN)
    refused(await register(world, client, wrong(code)), Code.INVALID_INPUT, "2 tries left")
    done = await register(world, client, code)
    assert done.code is Code.OK, done
    assert world.services.directory.email(client.id) == address
    assert await world.rows(
        "SELECT address FROM party_emails WHERE party_id = ?", (client.id,)
    ) == [(address,)]
    assert any(
        "A***@example.com, registered on" in sms for sms in await world.sms_to(client.msisdn or "")
    )
    # Used once: the same code registers nothing again.
    refused(await register(world, client, code), Code.NOT_ALLOWED, "no code waiting")


async def test_an_expired_code_is_refused(world: World, mail_dir: Path) -> None:
    client = await world.customer()
    assert (await ask_code(world, client, "late@example.org")).code is Code.OK
    code = await code_for(world, mail_dir, "late@example.org")
    expired = Write(
        "email_codes", ("party_id", "expires"), (client.id, 1), ("party_id",), WriteMode.UPDATE
    )
    await world.services.writer.submit_async([], attach=[expired])
    refused(await register(world, client, code), Code.NOT_ALLOWED, "no code waiting")
    assert world.services.directory.email(client.id) is None


async def test_three_wrong_codes_use_the_code_up(world: World, mail_dir: Path) -> None:
    client = await world.customer()
    assert (await ask_code(world, client, "tries@example.org")).code is Code.OK
    code = await code_for(world, mail_dir, "tries@example.org")
    refused(await register(world, client, wrong(code)), Code.INVALID_INPUT, "2 tries left")
    refused(await register(world, client, wrong(code)), Code.INVALID_INPUT, "1 try left")
    refused(await register(world, client, wrong(code)), Code.NOT_ALLOWED, "Ask for a new one")
    refused(await register(world, client, code), Code.NOT_ALLOWED, "Too many wrong codes")
    assert world.services.directory.email(client.id) is None
    # A new code starts its own count.
    assert (await ask_code(world, client, "tries@example.org")).code is Code.OK
    fresh = await code_for(world, mail_dir, "tries@example.org", count=2)
    assert (await register(world, client, fresh)).code is Code.OK


async def test_another_customers_code_registers_nothing(world: World, mail_dir: Path) -> None:
    owner, other = await world.customer(), await world.customer()
    assert (await ask_code(world, owner, "owner@example.net")).code is Code.OK
    assert (await ask_code(world, other, "other@example.net")).code is Code.OK
    owners = await code_for(world, mail_dir, "owner@example.net")
    others = await code_for(world, mail_dir, "other@example.net")
    if owners != others:
        refused(await register(world, other, owners), Code.INVALID_INPUT, "Wrong code")
    assert world.services.directory.email(other.id) is None
    # A customer who asked for nothing has nothing to confirm.
    bystander = await world.customer()
    refused(await register(world, bystander, owners), Code.NOT_ALLOWED, "no code waiting")
    assert (await register(world, owner, owners)).code is Code.OK
    assert world.services.directory.email(owner.id) == "owner@example.net"


async def test_what_a_code_request_takes_is_checked(world: World) -> None:
    client = await world.customer()
    msisdn = client.msisdn or ""
    for bad in ("", "no-at-sign", "a@b", "a@@b.com", "a b@c.com", "a@-x.com", "é@x.com"):
        answer = await world.ask("email_code", msisdn, channel=Channel.USSD, address=bad)
        assert answer.code is Code.INVALID_INPUT, (bad, answer)
    # On the API, the phone is not known: the PIN proves it.
    refused(await world.ask("email_code", msisdn, address="x@example.com"), Code.INVALID_INPUT)
    for _ in range(3):
        assert (await ask_code(world, client, "x@example.com")).code is Code.OK
    refused(await ask_code(world, client, "x@example.com"), Code.LIMIT_EXCEEDED, "a day")


async def _registered(world: World, mail_dir: Path, address: str) -> Party:
    client = await world.customer(200)
    assert (await ask_code(world, client, address)).code is Code.OK
    code = await code_for(world, mail_dir, address)
    assert (await register(world, client, code)).code is Code.OK
    return client


async def test_a_statement_needs_a_registered_address_and_the_pin(
    world: World, mail_dir: Path
) -> None:
    unregistered = await world.customer()
    msisdn = unregistered.msisdn or ""
    refused(
        await world.ask("full_statement", msisdn, CUSTOMER_PIN, months="1"),
        Code.NOT_ALLOWED,
        "Register email",
    )
    client = await _registered(world, mail_dir, "statements@example.com")
    msisdn = client.msisdn or ""
    refused(await world.ask("full_statement", msisdn, months="1"), Code.INVALID_INPUT)
    refused(await world.ask("full_statement", msisdn, "9999", months="1"), Code.WRONG_PIN)
    refused(
        await world.ask("full_statement", msisdn, CUSTOMER_PIN, months="2"),
        Code.INVALID_INPUT,
        "one of 1, 3, 6, 12",
    )
    asked = await world.ask("full_statement", msisdn, CUSTOMER_PIN, months="3")
    assert asked.code is Code.OK, asked
    assert asked.data["email"] == "s***@example.com"
    (password_sms,) = [s for s in await world.sms_to(msisdn) if "password" in s]
    password = re.search(r"password ([A-Z0-9]{8})\.", password_sms)
    assert password, password_sms
    # The order is sealed in the outbox: the password is never in the table in clear.
    for (body,) in await world.rows(
        "SELECT body FROM outbox WHERE request_id = ?", (asked.request_id,)
    ):
        assert password[1] not in str(body)
    for months in ("1", "12"):
        assert (await world.ask("full_statement", msisdn, CUSTOMER_PIN, months=months)).ok
    refused(
        await world.ask("full_statement", msisdn, CUSTOMER_PIN, months="1"),
        Code.LIMIT_EXCEEDED,
        "3 statements a day",
    )


def test_addresses_are_checked_strictly_at_the_edge() -> None:
    assert normalize_email(" Jane.Doe@Mail.Example.CO.KE ") == "Jane.Doe@mail.example.co.ke"
    for bad in (
        "",
        "@x.com",
        "a@",
        "a@x",
        "a@x.c0m",
        "a..b@x.com",
        ".a@x.com",
        "a@x..com",
        "a\n@x.com",
        "a@x.com\r\nBcc: b@y.com",
        "a" * 65 + "@x.com",
        "a@" + "b" * 250 + ".com",
        "jane@exämple.com",
        "a\x00@x.com",
    ):
        with pytest.raises(InvalidEmail):
            normalize_email(bad)
    assert mask_email("jane@example.com") == "j***@example.com"


def test_ranges_end_today_and_reach_back_whole_months() -> None:
    import datetime as dt

    assert months_back(dt.date(2026, 12, 5), 1) == dt.date(2026, 11, 6)
    assert months_back(dt.date(2026, 3, 31), 1) == dt.date(2026, 3, 1)
    assert months_back(dt.date(2026, 1, 15), 12) == dt.date(2025, 1, 16)
    assert months_back(dt.date(2024, 2, 29), 12) == dt.date(2023, 3, 1)
