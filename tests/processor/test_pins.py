"""PINs: exactly the limit of wrong tries reaches the verifier, and no PIN is ever in clear.

reliability.md T7 (lockout under concurrent wrong attempts, surviving a
restart) and T6 (canary PINs driven through every PIN path with DEBUG logs,
then every sink searched for them in clear, hex and base64; stored verifiers
that cannot be recomputed from the 10^4 candidate PINs without the key).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import io
import json
import logging
import pickle
import re
import secrets
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest
import structlog

from mkoba import logs
from mkoba.app import Platform, create_app
from mkoba.codes import Code
from mkoba.ledger import WriterError
from mkoba.parties import Pin, SealedPin, SecretKey, open_pin, seal_pin
from mkoba.processor.request import Channel, Request, Response
from mkoba.settings import Settings
from tests.conftest import POSTGRES_URL
from tests.processor.world import (
    CUSTOMER_PIN,
    KSH,
    World,
    available,
    call,
    request_of,
    rows,
    running,
    settings_for,
    wallet,
)

pytestmark = pytest.mark.anyio

# PINs nobody else uses in this store, to search every sink for.
CANARIES = ("739146", "605283", "4817", "951372")
CANARY_NEW = "284716"
CANARY_WRONG = "862059"


@pytest.fixture(scope="module")
def settings(module_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_for(module_store_url, tmp_path_factory.mktemp("pins"))


# -- lockout --------------------------------------------------------------------------------


async def test_concurrent_wrong_pins_reach_the_verifier_exactly_the_limit(
    settings: Settings,
) -> None:
    async with running(settings) as platform:
        world = await World(platform).setup()
        client = await world.customer(1_000)
        payee = await world.customer()
        assert client.msisdn and payee.msisdn
        limit = platform.services.profile(platform.clock()).pin_attempts_max
        vault = platform.services.vault
        before = vault.verifications
        # Fifty wrong tries at once, over three products: one party, one counter.
        shapes = [
            ("balance", {}),
            ("mini_statement", {}),
            ("send_money", {"to": payee.msisdn, "amount": "10"}),
        ]
        requests = [
            request_of(platform, product, client.msisdn, "9999", **params)
            for index in range(50)
            for product, params in [shapes[index % 3]]
        ]
        responses = await asyncio.gather(*(platform.request(r) for r in requests))
        assert vault.verifications - before == limit
        codes = Counter(response.code for response in responses)
        assert codes == {Code.WRONG_PIN: limit - 1, Code.PIN_LOCKED: 50 - limit + 1}
        left = sorted(r.data["attempts_left"] for r in responses if r.code is Code.WRONG_PIN)
        assert left == list(range(1, limit))
        # The right PIN is refused now, without asking the verifier.
        locked = await call(platform, "balance", client.msisdn, CUSTOMER_PIN)
        assert locked.code is Code.PIN_LOCKED
        assert vault.verifications - before == limit
        stored = await rows(
            platform,
            "SELECT failed_attempts, locked FROM pin_credentials WHERE party_id = ?",
            (client.id,),
        )
        assert stored == [(limit, 1)]
        assert await available(platform, wallet(client)) == 1_000 * KSH
    # The lock is durable: a restarted platform still refuses the right PIN.
    async with running(settings) as platform:
        again = await call(
            platform, "send_money", client.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="10"
        )
        assert again.code is Code.PIN_LOCKED
        assert platform.services.vault.verifications == 0
        assert await available(platform, wallet(client)) == 1_000 * KSH


# -- secrets as values -----------------------------------------------------------------------


def test_pins_and_sealed_pins_never_print_or_serialise() -> None:
    pin = Pin(CANARIES[0])
    key = transport_key()
    sealed = seal_pin(pin, key, b"request-1")
    for secret in (pin, sealed):
        logged = "%s" % (secret,)  # noqa: UP031 (as logging formats its arguments)
        for shown in (repr(secret), str(secret), f"{secret}", logged, f"{[secret]}"):
            assert CANARIES[0] not in shown
            assert "[secure]" in shown
        with pytest.raises(TypeError):
            json.dumps(secret)
        with pytest.raises(TypeError):
            pickle.dumps(secret)
        with pytest.raises(TypeError):
            json.dumps({"pin": secret})
    with pytest.raises(TypeError):
        _ = pin == Pin(CANARIES[0])
    with pytest.raises(TypeError):
        hash(pin)
    # A request carries only the sealed form, and prints none of it.
    request = request_of_sealed(sealed)
    assert "[secure]" in repr(request) and sealed.blob.hex() not in repr(request)
    with pytest.raises(TypeError):
        pickle.dumps(request)


def transport_key() -> SecretKey:
    """A transport key that lives in memory only."""
    return SecretKey(secrets.token_bytes(32))


def request_of_sealed(sealed: SealedPin) -> Request:
    return Request("request-1", Channel.API, "balance", "254722000001", {}, sealed)


# -- canaries in every sink -------------------------------------------------------------------


def forms(pin: str) -> list[re.Pattern[str]]:
    """How a PIN could leak: in clear (as a token of its own), as hex, as base64."""
    raw = pin.encode()
    encodings = {
        raw.hex(),
        raw.hex().upper(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    clear = re.compile(rf"(?<![0-9A-Za-z]){pin}(?![0-9A-Za-z])")
    return [clear, *(re.compile(re.escape(text)) for text in encodings)]


def leaks(text: str, pins: tuple[str, ...]) -> list[str]:
    """Every form of every PIN found in ``text``."""
    return [
        f"{pin} as {pattern.pattern!r}"
        for pin in pins
        for pattern in forms(pin)
        if pattern.search(text)
    ]


def test_the_search_finds_what_it_looks_for() -> None:
    for pin in CANARIES:
        raw = pin.encode()
        for planted in (
            f'{{"pin":"{pin}"}}',
            f"pin={pin} ",
            raw.hex(),
            base64.b64encode(raw).decode(),
        ):
            assert leaks(planted, (pin,)), planted
    # A PIN's digits inside a longer number (a timestamp, a phone number) are not a PIN.
    assert not leaks(f"1795{CANARIES[0]}123 2547{CANARIES[2]}9", CANARIES)


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """DEBUG logs rendered as structlog JSON into a buffer (and kept by caplog)."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    buffer = io.StringIO()
    logs.configure("debug", "json")
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    root.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        structlog.reset_defaults()


async def test_canary_pins_never_appear_in_logs_errors_or_the_store(
    settings: Settings,
    captured_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers: list[str] = []
    pins = (*CANARIES, CANARY_NEW, CANARY_WRONG)
    async with running(settings) as platform:
        world = await World(platform).setup()
        customers = []
        for pin in CANARIES:  # registration: the first PIN
            party = await world.customer(pin=pin)
            await world.deposit(party, 1_000 * KSH)
            customers.append(party)
        first, second, third, fourth = customers
        assert first.msisdn and second.msisdn and third.msisdn and fourth.msisdn

        async def ask(product: str, msisdn: str, pin: str | None, **params: str) -> Response:
            response = await call(platform, product, msisdn, pin, **params)
            answers.append(response.to_json())
            return response

        # Success.
        assert (await ask("balance", first.msisdn, CANARIES[0])).code is Code.OK
        sent = await ask("send_money", first.msisdn, CANARIES[0], to=second.msisdn, amount="10")
        assert sent.code is Code.OK
        assert (await ask("mini_statement", second.msisdn, CANARIES[1])).code is Code.OK
        # Wrong: someone else's PIN, a PIN nobody has.
        assert (await ask("balance", first.msisdn, CANARIES[1])).code is Code.WRONG_PIN
        assert (
            await ask("withdraw", second.msisdn, CANARY_WRONG, agent="1", amount="100")
        ).code in (Code.WRONG_PIN, Code.UNKNOWN_AGENT)
        # Lock, then the right PIN while locked.
        for _ in range(5):
            await ask("balance", third.msisdn, CANARY_WRONG)
        assert (await ask("balance", third.msisdn, CANARIES[2])).code is Code.PIN_LOCKED
        # Change: to a new PIN, a weak one refused, then the new one used.
        changed = await ask("change_pin", fourth.msisdn, CANARIES[3], new_pin=CANARY_NEW)
        assert changed.code is Code.OK
        weak = await call(platform, "change_pin", fourth.msisdn, CANARY_NEW, new_pin="5555")
        answers.append(weak.to_json())
        assert weak.code is Code.WEAK_PIN
        assert (await ask("balance", fourth.msisdn, CANARY_NEW)).code is Code.OK
        # Forced errors: a tampered PIN block, a verifier that fails, a writer that fails.
        tampered = request_of(platform, "balance", first.msisdn, CANARIES[0])
        assert tampered.pin is not None
        blob = bytearray(tampered.pin.blob)
        blob[-1] ^= 1
        bad = await platform.request(tampered._replace(pin=SealedPin(bytes(blob))))
        answers.append(bad.to_json())
        assert bad.code is Code.INVALID_INPUT

        def broken(*_args: object) -> bool:
            raise RuntimeError("the PIN verifier is down")

        with monkeypatch.context() as patch:
            patch.setattr(platform.services.vault, "matches", broken)
            crashed = await ask("balance", first.msisdn, CANARIES[0])
        assert crashed.code is Code.SYSTEM_ERROR

        def refuse(*_args: object, **_kwargs: object) -> object:
            raise WriterError("the ledger writer is overloaded; try again")

        with monkeypatch.context() as patch:
            patch.setattr(platform.services.writer, "submit_async", refuse)
            crashed = await ask("balance", first.msisdn, CANARY_WRONG)
        assert crashed.code is Code.SYSTEM_BUSY  # the ledger cannot commit now: busy
        # The logging backstop, in case code ever hands it a PIN.
        structlog.get_logger("test").info("pin check", pin=Pin(CANARIES[0]), user_pin=CANARIES[0])
        logging.getLogger("test").debug("checking %s", Pin(CANARIES[1]))
        # The native API: PINs in bodies, bad ones echoed nowhere.
        answers.extend(await api_answers(platform, settings, first.msisdn))
        # Every stored verifier must match its PIN only under the key.
        verifiers = {
            pin: await verifier_of(platform, party.id)
            for pin, party in zip(CANARIES, customers, strict=True)
        }
        party_ids = {pin: party.id for pin, party in zip(CANARIES, customers, strict=True)}
    key = (settings.keys_dir / "pin.key").read_bytes()
    stored = await store_dump(settings.db)
    caplog_text = "\n".join(logging.Formatter().format(record) for record in caplog.records)
    sinks = {
        "JSON logs": captured_logs.getvalue(),
        "log records": caplog_text,
        "responses": "\n".join(answers),
        "store": stored,
    }
    assert "pin check" in sinks["JSON logs"] and "request" in caplog_text
    for name, text in sinks.items():
        assert text, name
        assert leaks(text, pins) == [], name
    # The PIN key never went into the store.
    for form in (key.hex(), base64.b64encode(key).decode()):
        assert form not in stored
    # A stolen database alone does not give the PINs back.
    four_digit = CANARIES[2]
    assert len(four_digit) == 4
    verifier = verifiers[four_digit]
    party_id = party_ids[four_digit]
    assert not unkeyed_guesses(verifier, party_id)
    keyed = [
        candidate
        for candidate in candidates()
        if hmac.compare_digest(
            hmac.new(key, f"{party_id}:{candidate}".encode(), hashlib.sha256).hexdigest(),
            verifier,
        )
    ]
    assert keyed == [four_digit]


def candidates() -> Iterator[str]:
    return (f"{value:04d}" for value in range(10_000))


def unkeyed_guesses(verifier: str, party_id: int) -> list[str]:
    """The candidates some unkeyed construction maps to ``verifier`` (none, we hope)."""
    found = []
    for candidate in candidates():
        messages = [
            candidate.encode(),
            f"{party_id}:{candidate}".encode(),
            f"{candidate}:{party_id}".encode(),
            f"{party_id}{candidate}".encode(),
        ]
        for message in messages:
            digests = [
                hashlib.sha256(message).hexdigest(),
                hashlib.sha1(message).hexdigest(),
                hashlib.md5(message).hexdigest(),
                hmac.new(b"", message, hashlib.sha256).hexdigest(),
                hmac.new(str(party_id).encode(), candidate.encode(), hashlib.sha256).hexdigest(),
            ]
            if verifier in digests:
                found.append(candidate)
    return found


async def verifier_of(platform: Platform, party_id: int) -> str:
    found = await rows(
        platform, "SELECT verifier FROM pin_credentials WHERE party_id = ?", (party_id,)
    )
    assert len(found) == 1
    return str(found[0][0])


async def api_answers(platform: Platform, settings: Settings, msisdn: str) -> list[str]:
    """Bodies of the native API for PINs given right, wrong and malformed."""
    app = create_app(settings, platform)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    bodies = []
    async with httpx.AsyncClient(transport=transport, base_url="http://mkoba") as client:
        attempts: list[object] = [
            {"msisdn": msisdn, "pin": CANARIES[0]},
            {"msisdn": msisdn, "pin": CANARY_WRONG},
            {"msisdn": msisdn, "pin": int(CANARIES[0])},
            {"msisdn": msisdn, "pin": CANARIES[0] + "7"},
            {"msisdn": msisdn, "pin": CANARIES[0][:-1] + "x"},
            {"msisdn": msisdn, "pin": [CANARIES[0]]},
            {"msisdn": msisdn, "pin": CANARIES[0], "unexpected": CANARIES[1]},
        ]
        for body in attempts:
            answer = await client.post("/api/v1/balance", json=body)
            assert answer.headers["content-type"] == "application/json"
            bodies.append(answer.text)
        raw = f'{{"msisdn": "{msisdn}", "pin": {CANARIES[0]}'
        answer = await client.post(
            "/api/v1/balance", content=raw, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400
        bodies.append(answer.text)
        bus = platform.bus
        original = bus.request

        async def crash(_request: object, _timeout_s: float) -> Response:
            raise RuntimeError("the bus is down")

        bus.request = crash  # type: ignore[method-assign]
        try:
            answer = await client.post(
                "/api/v1/balance", json={"msisdn": msisdn, "pin": CANARIES[0]}
            )
        finally:
            bus.request = original  # type: ignore[method-assign]
        assert answer.status_code == 500 and answer.json()["code"] == "system_error"
        bodies.append(answer.text)
    return bodies


async def store_dump(url: str) -> str:
    """Everything in a (stopped) store as text: every table, and for SQLite the files' bytes."""
    return await asyncio.to_thread(_dump, url)


def _dump(url: str) -> str:
    if not url.startswith("postgresql://"):
        path = Path(url)
        with sqlite3.connect(path) as connection:
            dump = "\n".join(connection.iterdump())
        connection.close()
        files = [
            candidate.read_bytes().decode("latin-1")
            for candidate in (path, Path(f"{path}-wal"))
            if candidate.exists()
        ]
        return "\n".join([dump, *files])
    schema = parse_qs(urlsplit(url).query)["schema"][0]
    parts = []
    with psycopg.connect(POSTGRES_URL) as connection:
        tables = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,),
        ).fetchall()
        assert len(tables) > 5, tables
        for (table,) in tables:
            for row in connection.execute(f'SELECT * FROM "{schema}"."{table}"'):
                parts.append(f"{table} {row!r}")
    return "\n".join(parts)


def test_sealed_pins_are_bound_to_their_request() -> None:
    key = transport_key()
    sealed = seal_pin(Pin(CANARIES[0]), key, b"request-1")
    assert CANARIES[0].encode() not in sealed.blob
    assert binascii.hexlify(CANARIES[0].encode()) not in binascii.hexlify(sealed.blob)
    assert open_pin(sealed, key, b"request-1").reveal() == CANARIES[0]
    with pytest.raises(ValueError, match="could not be read"):
        open_pin(sealed, key, b"request-2")
    # Sealing twice never gives the same block: replays cannot be matched by their PIN.
    assert seal_pin(Pin(CANARIES[0]), key, b"r").blob != seal_pin(Pin(CANARIES[0]), key, b"r").blob
