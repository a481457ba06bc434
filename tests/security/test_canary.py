"""No secret reaches a log, an answer, a callback or the store: canaries through every channel.

A real ``mkoba serve`` (its own logging, captured to a file; console format on SQLite,
JSON on PostgreSQL) with demo data, a USSD gateway secret, strict Daraja credentials
and an app, passkey and initiator of the test's own. Distinctive values go through
every secret field of every channel: PINs and new PINs (native API, USSD menus, STK
answers, an SMS), a temporary PIN (a staff reset made and approved in the operator
console, whose staff password and TOTP seeds are canaries too) and voucher codes
(send to an unregistered number; a wrong one at the counter), the consumer secret and
its Basic header, bearer tokens (good and bad), the STK passkey and Password, the
initiator password and its SecurityCredential on every business route, the USSD gateway
secret and the handsets' credentials. Bad input is sent on each route, and failures are
injected inside the frames that hold those secrets (``faults.py``), so that tracebacks
are logged. Afterwards no canary may be found, in clear, hex or base64, in the log, any
HTTP answer (but the one that rightly hands a secret to its owner), any callback, the
SQLite files (database, WAL) or a PostgreSQL dump, or the outbox bodies at rest.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from mkoba.channels.daraja.cli import daraja_app
from mkoba.channels.daraja.credential import encrypt, ensure_certificate
from mkoba.channels.daraja.registry import refresh_interval_s
from mkoba.ledger import open_store
from mkoba.parties.handsets import HandsetKey
from mkoba.staff import accounts
from tests.channels.console.staff import Authenticator
from tests.channels.daraja.bodies import B2C_SHORTCODE, PAYBILL, TILL, calls
from tests.channels.gateway import Dial
from tests.channels.serving import free_port
from tests.compat.listener import Listener
from tests.conftest import POSTGRES_URL
from tests.security import faults
from tests.security.canaries import Canaries, Sink, digits, text

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
start_timeout_s = 90.0
# The running channel reads the CLI's changes this often (with a margin for the read itself).
registry_refresh_s = refresh_interval_s + 0.5
callbacks_wait_s = 15.0

A, B, C, D, E = (f"2547120000{n:02d}" for n in (1, 2, 3, 4, 5))  # A, B, C, D: English readers
DEMO_PIN, AGENT, AGENT_PIN, CARE, STAFF_PIN = "1357", "254711100001", "2468", "254711900001", "9753"
STK_SHORTCODE = "174379"
SERVE = "import tests.security.faults as f; f.install(); from mkoba.cli import main; main()"
DEMO_STAFF_PASSWORD = "mkoba demo 2026"
KENYA = ROOT / "src/mkoba/catalog/profiles/kenya.yaml"
# Kenya's last version ended vouchers (2024-02-05): the run keeps the one before, to send some.
VOUCHERS_END = "\n  - effective_from: 2024-02-05\n"


def kenya_with_vouchers(folder: Path) -> Path:
    """The Kenya profile as it stood before vouchers ended."""
    kept, found, _ = KENYA.read_text(encoding="utf-8").partition(VOUCHERS_END)
    assert found, "the Kenya profile no longer ends vouchers on 2024-02-05"
    path = folder / "kenya-vouchers.yaml"
    path.write_text(kept + "\n", encoding="utf-8")
    return path


@dataclass(repr=False)
class Run:
    """One server under test, the canaries sent to it and everything it answered."""

    folder: Path
    db: str
    url: str
    log_format: str
    log: Path
    keys: Path
    switch: Path
    canaries: Canaries = field(default_factory=Canaries)
    answers: list[tuple[str, bytes]] = field(default_factory=list)
    # Which answers rightly carry which canaries: (path pattern, canary names).
    carriers: list[tuple[re.Pattern[str], frozenset[str]]] = field(default_factory=list)
    # The sinks before any canary was sent: digit canaries are chosen not to be in them.
    baseline: list[Sink] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Run({self.db}, {self.log_format})"

    def record(self, response: httpx.Response) -> None:
        """Keep an answer's body (an httpx response hook)."""
        response.read()
        label = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
        self.answers.append((label, response.content))

    def client(self, **headers: str) -> httpx.Client:
        """A client whose every answer is kept (a connection each: a crash closes one)."""
        return httpx.Client(
            base_url=self.url,
            timeout=30,
            headers=headers,
            event_hooks={"response": [self.record]},
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def carries(self, path: str, *names: str) -> None:
        """Answers on ``path`` (a regex) may carry ``names``: their owner asked for them."""
        self.carriers.append((re.compile(path), frozenset(names)))

    def handset(self, msisdn: str) -> dict[str, str]:
        """``msisdn``'s handset header (its credential is a canary too)."""
        credential = HandsetKey.load(self.keys).credential(msisdn)
        name = f"handset credential {msisdn}"
        if name not in self.canaries.values:
            self.canaries.add(name, credential.reveal())
        return credential.header()

    @contextmanager
    def fault(self, *names: str) -> Iterator[None]:
        """Switch faults on for the block."""
        self.switch.write_text(" ".join(names), encoding="utf-8")
        try:
            yield
        finally:
            self.switch.write_text("", encoding="utf-8")

    def fresh(self, name: str, count: int = 6) -> str:
        """A digit canary that appears nowhere yet (a PIN, a code): only a leak can put it there."""
        while True:
            value = digits(count)
            taken = value in self.canaries.values.values()
            if not taken and not Canaries({name: value}).seen(name, self.baseline):
                return self.canaries.add(name, value)

    def sinks(self, store: bool = True) -> list[Sink]:
        """What an attacker could read now: the log, the answers, the store (files or dump)."""
        found = [Sink("log", self.log.read_bytes())]
        for label, body in self.answers:
            path = label.split(" ")[1]
            allowed = frozenset().union(
                *(names for pattern, names in self.carriers if pattern.fullmatch(path))
            )
            found.append(Sink(f"answer {label}", body, allowed))
        if store and "://" in self.db:
            found.append(_dump(self))
        elif store:
            for file in sorted(self.folder.glob("mkoba.db*")):
                found.append(Sink(file.name, file.read_bytes()))
        return found


@contextmanager
def serving(run: Run, gateway_secret: str) -> Iterator[int]:
    """``mkoba serve`` with the faults installed, its output in ``run.log``; yields its pid."""
    port = int(run.url.rsplit(":", 1)[1])
    env = {key: value for key, value in os.environ.items() if not key.startswith("MKOBA_")}
    env |= {
        "MKOBA_KEYS_DIR": str(run.keys),
        "MKOBA_CONSOLE_PORT": "0",
        "MKOBA_LOG_FORMAT": run.log_format,
        "MKOBA_USSD_GATEWAY_SECRET": gateway_secret,
        "MKOBA_DARAJA_CREDENTIALS": "strict",
        "MKOBA_PROFILE": str(kenya_with_vouchers(run.folder)),
        "MKOBA_MAIL_DIR": str(run.folder / "mail"),
        faults.SWITCH: str(run.switch),
    }
    command = [sys.executable, "-c", SERVE, "serve", "--db", run.db, "--port", str(port)]
    with open(run.log, "wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            assert process.poll() is None, run.log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, run.log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(f"{run.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _daraja_cli(run: Run, *args: str) -> str:
    """A ``mkoba daraja`` admin command against the run's store, as an operator runs it."""
    result = CliRunner().invoke(
        daraja_app, [*args, "--db", run.db, "--keys-dir", str(run.keys)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


@dataclass
class DarajaApp:
    """The test's own Daraja app: its credentials are canaries."""

    key: str
    secret: str
    passkey: str
    initiator: str
    credential: str


def daraja_setup(run: Run) -> DarajaApp:
    """An app with the STK, B2C and C2B shortcodes, a passkey and an initiator of its own."""
    canaries = run.canaries
    created = _daraja_cli(run, "apps", "create", "canary")
    app_id = re.search(r"app (\d+)", created)
    key = re.search(r"consumer key\s+(\S+)", created)
    secret = re.search(r"consumer secret\s+(\S+)", created)
    assert app_id and key and secret, created
    canaries.add("consumer secret", secret[1])
    basic = base64.b64encode(f"{key[1]}:{secret[1]}".encode()).decode()
    canaries.add("Basic credentials", basic)
    passkey = canaries.add("passkey", text("cnryPasskey"))
    _daraja_cli(run, "shortcodes", "add", app_id[1], STK_SHORTCODE, "--passkey", passkey)
    for shortcode in (B2C_SHORTCODE, PAYBILL):
        _daraja_cli(run, "shortcodes", "add", app_id[1], shortcode)
    _daraja_cli(run, "shortcodes", "add", app_id[1], TILL, "--kind", "till")
    password = canaries.add("initiator password", text("cnryInit!"))
    _daraja_cli(run, "initiators", "add", app_id[1], "canaryop", "--password", password)
    credential = encrypt(ensure_certificate(run.keys), password)
    canaries.add("SecurityCredential", credential)
    return DarajaApp(key[1], secret[1], passkey, "canaryop", credential)


# -- the channels ------------------------------------------------------------------------


def api(
    http: httpx.Client, path: str, body: dict[str, Any], expect: str = "ok", **headers: str
) -> dict[str, Any]:
    """A native API call; ``expect``: "ok", "refused" (any failure) or the answer's code."""
    found: dict[str, Any] = http.post(f"/api/v1/{path}", json=body, headers=headers).json()
    if expect == "ok":
        assert found["ok"], (path, found)
    elif expect == "refused":
        assert not found["ok"], (path, found)
    else:
        assert found["code"] == expect, (path, found)
    return found


def native(run: Run) -> None:
    """The native API: PINs, new PINs, a temporary PIN, voucher codes; bad input and faults."""
    canaries = run.canaries
    pin_a = run.fresh("new PIN of A", 6)
    pin_c = run.fresh("new PIN of C", 6)
    wrong = run.fresh("wrong PIN", 6)
    bad_code = run.fresh("wrong voucher code", 8)
    unregistered = f"2547225{digits(5)}"
    with run.client() as http:
        api(http, "change-pin", {"msisdn": A, "pin": DEMO_PIN, "new_pin": pin_a})
        api(http, "balance", {"msisdn": A, "pin": pin_a})
        api(http, "balance", {"msisdn": A, "pin": wrong}, "wrong_pin")
        sent = {"msisdn": A, "pin": pin_a, "to": B, "amount": 100}
        # A replay of the same key with another PIN: checked again, never answered from memory.
        key = uuid.uuid4().hex
        api(http, "send-money", sent, **{"Idempotency-Key": key})
        api(http, "send-money", {**sent, "pin": wrong}, "refused", **{"Idempotency-Key": key})

        # A voucher: its code reaches only the recipient's phone, then the agent's counter.
        api(http, "send-unregistered", {**sent, "to": unregistered, "amount": 250})
        code = _from_inbox(run, http, unregistered, r", ([0-9]{8}), ")
        canaries.add("voucher code", code)
        run.carries(f"/api/v1/sms/{unregistered}", "voucher code")
        redeem = {"msisdn": AGENT, "pin": AGENT_PIN, "recipient": unregistered}
        api(http, "redeem-voucher", {**redeem, "code": bad_code}, "refused")
        api(http, "redeem-voucher", {**redeem, "code": code})

        # A temporary PIN: staff reset C's PIN; it reaches only C's phone; C changes it.
        temporary = _temporary_pin(run, http)
        api(http, "change-pin", {"msisdn": C, "pin": temporary, "new_pin": pin_c})
        api(http, "balance", {"msisdn": C, "pin": pin_c})

        # Bad input carrying secrets: none of it may be echoed.
        too_long = run.fresh("PIN too long", 7)
        not_digits = canaries.add("PIN not digits", text("cnryPin", 8))
        for pin in (too_long, not_digits, int(pin_a)):
            api(http, "balance", {"msisdn": A, "pin": pin}, "invalid_input")
        api(http, "change-pin", {"msisdn": A, "pin": pin_a, "new_pin": not_digits}, "refused")
        api(http, "balance", {"msisdn": A, "pin": pin_a, "pin_again": pin_a}, "invalid_input")
        api(http, "balance", {"msisdn": f"07{pin_a}", "pin": pin_a}, "refused")
        api(http, "redeem-voucher", {**redeem, "code": f"{bad_code}x"}, "refused")
        broken = f'{{"msisdn": "{A}", "pin": "{pin_a}", "new_pin": "{wrong}"'.encode()
        answer = http.post(
            "/api/v1/change-pin", content=broken, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400, answer.text

        # Failures inside the frames that hold them.
        never = run.fresh("new PIN never set", 6)
        with run.fault(faults.SUBMIT):
            api(http, "balance", {"msisdn": A, "pin": pin_a}, "system_error")
            api(http, "change-pin", {"msisdn": A, "pin": pin_a, "new_pin": never}, "system_error")
            api(http, "redeem-voucher", {**redeem, "code": bad_code}, "system_error")
        with run.fault(faults.PIN_HMAC):
            api(http, "balance", {"msisdn": A, "pin": pin_a}, "system_error")
            api(http, "change-pin", {"msisdn": A, "pin": pin_a, "new_pin": never}, "system_error")

        # An SMS with a secret in it fails at the gateway, then goes on the retry.
        second = f"2547226{digits(5)}"
        with run.fault(faults.SMS_GATEWAY):
            api(http, "send-unregistered", {**sent, "to": second, "amount": 150})
            _wait_for(lambda: faults.SMS_GATEWAY in _injected(run), "the SMS gateway fault")
        code2 = _from_inbox(run, http, second, r", ([0-9]{8}), ", wait_s=15)
        canaries.add("voucher code 2", code2)
        run.carries(f"/api/v1/sms/{second}", "voucher code 2")


def _from_inbox(run: Run, http: httpx.Client, msisdn: str, pattern: str, wait_s: float = 5) -> str:
    """The secret in the newest SMS to ``msisdn`` that holds one, read by its own handset."""
    deadline = time.monotonic() + wait_s
    while True:
        answer = http.get(f"/api/v1/sms/{msisdn}", headers=run.handset(msisdn))
        assert answer.status_code == 200, answer.text
        for message in reversed(answer.json()["messages"]):
            found = re.search(pattern, message["text"])
            if found:
                return found[1]
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.2)


def _temporary_pin(run: Run, http: httpx.Client) -> str:
    """C's temporary PIN from a staff reset, one that was nowhere before the reset.

    The reset goes through the real operator console, as staff make it: first-line care
    signs in (password and TOTP) and starts it, the back office approves it with a fresh
    code. The staff password and both TOTP seeds are canaries too. (Six digits could be
    there by chance, as an amount or an id: then reset again.)
    """
    run.carries(f"/api/v1/sms/{C}", "temporary PIN")
    # No staff PIN resets one over the native API any more: that route is gone.
    gone = http.post("/api/v1/pin/reset", json={"msisdn": CARE, "pin": STAFF_PIN, "customer": C})
    assert gone.status_code in (404, 405), gone.text
    found = re.search(r"console\s+(http://127\.0\.0\.1:\d+)/staff", run.log.read_text())
    assert found is not None, run.log.read_text(errors="replace")[-3000:]
    run.canaries.add("staff password", DEMO_STAFF_PASSWORD)
    maker = _staff_desk(run, found[1], "care_l1")
    checker = _staff_desk(run, found[1], "care_l2")
    try:
        for _ in range(5):
            before = run.sinks()
            body = {"product": "reset_pin", "fields": {"customer": C}, "note": "lost phone"}
            made = maker.client.post("/staff/v1/commands", json=body, headers=maker.headers)
            assert made.status_code == 201 and made.json()["state"] == "pending", made.text
            approval = {"code": checker.app.next()}
            approved = checker.client.post(
                f"/staff/v1/commands/{made.json()['id']}/approve",
                json=approval,
                headers=checker.headers,
            )
            assert approved.status_code == 200, approved.text
            assert approved.json()["state"] == "done", approved.text
            pin = _from_inbox(run, http, C, r"temporary PIN is ([0-9]{4,6})\.")
            if not Canaries({"temporary PIN": pin}).seen("temporary PIN", before):
                run.canaries.add("temporary PIN", pin)
                return pin
    finally:
        maker.client.close()
        checker.client.close()
    raise AssertionError("five temporary PINs in a row were in the sinks before their reset")


@dataclass
class _Desk:
    """A member of staff signed in to the console: a client keeping the session cookie."""

    client: httpx.Client
    headers: dict[str, str]
    app: Authenticator


def _staff_desk(run: Run, console_url: str, username: str) -> _Desk:
    """The demo's ``username`` signed in; its TOTP seed (read with the staff key) a canary."""
    store = open_store(run.db, commit_process=False)
    try:
        account = accounts.by_username(store, accounts.staff_key(run.keys), username)
    finally:
        store.close()
    assert account is not None, username
    run.canaries.add(f"TOTP seed {username}", account.state.totp_secret)
    app = Authenticator(account.state.totp_secret)
    client = httpx.Client(base_url=console_url, timeout=30, event_hooks={"response": [run.record]})
    signed = client.post(
        "/staff/v1/sign-in",
        json={"username": username, "password": DEMO_STAFF_PASSWORD, "code": app.next()},
    )
    assert signed.status_code == 200, signed.text
    return _Desk(client, {"X-CSRF-Token": signed.json()["csrf"]}, app)


def ussd(run: Run, gateway_secret: str) -> None:
    """USSD: the PIN and a new PIN typed in the menus, the gateway's secret; errors and faults."""
    canaries = run.canaries
    pin_d = run.fresh("new PIN of D (USSD)", 6)
    wrong = canaries.values["wrong PIN"]
    with run.client(**{"X-Gateway-Secret": gateway_secret}) as gateway:
        changed = Dial(gateway, D).walk("7", "3", DEMO_PIN, pin_d, pin_d)
        assert changed.startswith("END ") and "changed" in changed, changed
        assert "balance" in Dial(gateway, D).walk("7", "2", pin_d)
        assert Dial(gateway, D).walk("7", "2", wrong).startswith("END ")
        mismatch = run.fresh("new PIN mistyped (USSD)", 6)
        Dial(gateway, D).walk("7", "3", pin_d, pin_d, mismatch)
        Dial(gateway, D).walk("7", "3", pin_d, run.fresh("PIN too long (USSD)", 7))
        with run.fault(faults.SUBMIT):
            assert Dial(gateway, D).walk("7", "2", pin_d).startswith("END ")
        with run.fault(faults.PIN_HMAC):
            assert Dial(gateway, D).walk("7", "2", pin_d).startswith("END ")
        form = {"sessionId": "s1", "phoneNumber": f"+{D}", "text": f"7*2*{pin_d}"}
        assert gateway.post("/ussd/at", json=form).status_code == 400
    wrong_secret = canaries.add("wrong gateway secret", text("cnryGw"))
    with run.client() as stranger:
        refused = stranger.post(
            "/ussd/at",
            data={"sessionId": "s2", "phoneNumber": f"+{D}", "text": f"7*2*{pin_d}"},
            headers={"X-Gateway-Secret": wrong_secret},
        )
        assert refused.status_code == 401
        # A simulated handset dials with its own credential.
        handset = run.handset(D)
        dial = Dial(stranger, D)
        stranger.headers.update(handset)
        assert "balance" in dial.walk("7", "2", pin_d)


def _mailed(folder: Path, address: str, pattern: str, wait_s: float = 10) -> str:
    """The first match of ``pattern`` in the newest mail to ``address`` (mail is a folder)."""
    deadline = time.monotonic() + wait_s
    while True:
        for path in sorted(folder.glob("*.eml"), reverse=True):
            mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            body = mail.get_body(("plain",))
            if mail["To"] == address and body is not None:
                found = re.search(pattern, str(body.get_content()))
                if found:
                    return found[1] if found.groups() else found[0]
        assert time.monotonic() < deadline, f"no mail to {address} matching {pattern!r}"
        time.sleep(0.2)


def statements(run: Run, gateway_secret: str) -> None:
    """A full statement by email: the mailed code typed on USSD, the PDF's password by SMS."""
    pin_d = run.canaries.values["new PIN of D (USSD)"]
    folder, address = run.folder / "mail", "d.statements@example.com"
    run.carries(f"/api/v1/sms/{D}", "statement password")
    with run.client(**{"X-Gateway-Secret": gateway_secret}) as gateway:
        before = run.sinks()
        sent = Dial(gateway, D).walk("7", "7", "2", address)
        assert sent.startswith("END Code sent"), sent
        code = _mailed(folder, address, r"Your code is ([0-9]{6})\.")
        # Six digits could be in the sinks by chance (an amount, an id): then not a canary.
        if not Canaries({"email code": code}).seen("email code", before):
            run.canaries.add("email code", code)
        wrong = run.fresh("wrong email code", 6)
        assert "Wrong code" in Dial(gateway, D).walk("7", "7", "3", wrong, pin_d)
        assert "will be sent to" in Dial(gateway, D).walk("7", "7", "3", code, pin_d)
        asked = Dial(gateway, D).walk("7", "7", "1", "1", pin_d)
        assert "will be emailed" in asked, asked
    with run.client() as http:
        password = _from_inbox(run, http, D, r"password ([A-Z0-9]{8})\.")
    run.canaries.add("statement password", password)
    _mailed(folder, address, r"Your M-PESA statement from")


def sms(run: Run) -> None:
    """SMS from a handset: a PIN typed in an SMS is never read, stored or echoed."""
    pin_a = run.canaries.values["new PIN of A"]
    with run.client(**run.handset(A)) as phone:

        def send(text: str) -> httpx.Response:
            return phone.post("/api/v1/sms/inbound", json={"from": A, "to": "456", "text": text})

        for said in (f"PIN {pin_a}", f"BAL {pin_a}", pin_a, f"SEND 100 {B} {pin_a}"):
            assert send(said).status_code == 200
        forwarded = f"UKO1CZ2IBW Confirmed. Ksh100.00 sent to JOHN on 1/1/26. PIN {pin_a}"
        assert send(forwarded).status_code == 200
        with run.fault(faults.SUBMIT):
            assert send(forwarded).status_code == 500
        refused = phone.post(
            "/api/v1/sms/inbound",
            json={"from": B, "to": "456", "text": f"PIN {pin_a}"},
        )
        assert refused.status_code == 401


def daraja(run: Run, app: DarajaApp, listener: Listener) -> list[str]:
    """Daraja: OAuth, STK (passkey, Password, the customer's PIN), every business route.

    Returns the ConversationIDs whose results must arrive by callback.
    """
    canaries = run.canaries
    pin_e = run.fresh("new PIN of E (STK)", 6)
    wrong = canaries.values["wrong PIN"]
    callback = f"{listener.base}/result"
    with run.client() as http:
        api(http, "change-pin", {"msisdn": E, "pin": DEMO_PIN, "new_pin": pin_e})
        run.carries("/oauth/v1/generate", *(f"token {n}" for n in range(1, 10)))
        tokens = iter(range(1, 10))

        def token() -> str:
            answer = http.get(
                "/oauth/v1/generate",
                params={"grant_type": "client_credentials"},
                headers={"Authorization": f"Basic {canaries.values['Basic credentials']}"},
            )
            assert answer.status_code == 200, answer.text
            return canaries.add(f"token {next(tokens)}", answer.json()["access_token"])

        bearer = {"Authorization": f"Bearer {token()}"}

        def stamp() -> str:
            return dt.datetime.now().strftime("%Y%m%d%H%M%S")

        def password(passkey: str, when: str, name: str) -> str:
            encoded = base64.b64encode(f"{STK_SHORTCODE}{passkey}{when}".encode()).decode()
            return canaries.add(name, encoded)

        bodies = {call.path: call.body for call in calls(callback)}
        passwords = iter(range(1, 20))

        def push(msisdn: str, amount: int, passkey: str | None = None) -> httpx.Response:
            when = stamp()
            body = {
                **bodies["/mpesa/stkpush/v1/processrequest"],
                "Password": password(passkey or app.passkey, when, f"Password {next(passwords)}"),
                "Timestamp": when,
                "PartyA": msisdn,
                "PhoneNumber": msisdn,
                "Amount": amount,
            }
            return http.post("/mpesa/stkpush/v1/processrequest", json=body, headers=bearer)

        def answer_prompt(msisdn: str, pin: str) -> httpx.Response:
            phone = run.handset(msisdn)
            waiting = http.get(f"/api/v1/stk/{msisdn}/pending", params={"wait": 5}, headers=phone)
            prompts = waiting.json()["prompts"]
            assert prompts, waiting.text
            checkout = prompts[0]["checkout_id"]
            return http.post(f"/api/v1/stk/{checkout}/answer", json={"pin": pin}, headers=phone)

        pushed = push(E, 10)
        assert pushed.status_code == 200, pushed.text
        paid = answer_prompt(E, pin_e)
        assert paid.json()["data"]["ResultCode"] == "0", paid.text
        assert push(E, 11).status_code == 200
        assert answer_prompt(E, wrong).json()["data"]["ResultCode"] == "2001"
        wrong_passkey = canaries.add("wrong passkey", text("cnryBadPasskey"))
        assert push(E, 12, wrong_passkey).status_code == 500
        when = stamp()
        query = {
            "BusinessShortCode": STK_SHORTCODE,
            "Password": password(app.passkey, when, "Password query"),
            "Timestamp": when,
            "CheckoutRequestID": pushed.json()["CheckoutRequestID"],
        }
        assert http.post("/mpesa/stkpushquery/v1/query", json=query, headers=bearer).is_success

        # Every business route, with the initiator's SecurityCredential; then a wrong one.
        business = [
            path
            for path, body in bodies.items()
            if "SecurityCredential" in body or path.startswith(("/mpesa/c2b", "/pull", "/mpesa/qr"))
        ]
        bad_credential = canaries.add(
            "wrong SecurityCredential", base64.b64encode(os.urandom(256)).decode()
        )

        conversations: list[str] = []

        def business_call(
            path: str, credential: str, headers: dict[str, str], result: bool = True
        ) -> httpx.Response:
            body = dict(bodies[path])
            if "SecurityCredential" in body:
                body["SecurityCredential"] = credential
                body["InitiatorName" if "InitiatorName" in body else "Initiator"] = app.initiator
            if "OriginatorConversationID" in body:
                body["OriginatorConversationID"] = uuid.uuid4().hex
            answer = http.post(path, json=body, headers=headers)
            if result and answer.status_code == 200 and "ConversationID" in answer.json():
                conversations.append(answer.json()["ConversationID"])
            return answer

        for path in business:
            answer = business_call(path, app.credential, bearer)
            assert answer.is_success, (path, answer.text)
        b2c = "/mpesa/b2c/v3/paymentrequest"
        assert business_call(b2c, bad_credential, bearer).is_success

        # Bad input and bad credentials.
        bad_token = {"Authorization": f"Bearer {canaries.add('wrong token', text('', 28))}"}
        for path in (b2c, "/mpesa/stkpush/v1/processrequest", "/mpesa/c2b/v1/registerurl"):
            assert http.post(path, json=bodies[path], headers=bad_token).status_code >= 400
        assert business_call("/pulltransactions/v1/query", "", bad_token).status_code >= 400
        wrong_secret = canaries.add("wrong consumer secret", text("cnrySecret", 40))
        basic = base64.b64encode(f"{app.key}:{wrong_secret}".encode()).decode()
        canaries.add("wrong Basic credentials", basic)
        refused = http.get(
            "/oauth/v1/generate",
            params={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert refused.status_code == 400
        garbled = canaries.add("garbled Basic", text("cnry*Basic!", 30))
        garbled_header = {"Authorization": f"Basic {garbled}"}
        assert http.get("/oauth/v1/generate", headers=garbled_header).status_code == 400
        unstorable = business_call(b2c, app.credential + "\u0000", bearer)
        assert unstorable.status_code == 400
        broken = json.dumps(
            {"SecurityCredential": app.credential, "Password": canaries.values["Password 1"]}
        )[:-1].encode()
        assert http.post(b2c, content=broken, headers=bearer).status_code == 400

        # Failures inside the frames that hold the secrets.
        with run.fault(faults.VAULT_PREFIX + "secret"):
            failed = http.get(
                "/oauth/v1/generate",
                params={"grant_type": "client_credentials"},
                headers={"Authorization": f"Basic {canaries.values['Basic credentials']}"},
            )
            assert failed.status_code == 500
        with run.fault(faults.VAULT_PREFIX + "token"):
            assert push(E, 13).status_code == 500
            assert business_call(b2c, app.credential, bearer).status_code == 500
        with run.fault(faults.STK_PASSWORD):
            assert push(E, 14).status_code == 500
        with run.fault(faults.VAULT_PREFIX + "initiator"):
            assert business_call(b2c, app.credential, bearer).status_code == 500
        assert push(E, 15).status_code == 200
        with run.fault(faults.SUBMIT):
            assert answer_prompt(E, pin_e).status_code == 500
            # Accepted, then its request fails inside TranProc's port (no result follows).
            assert business_call(b2c, app.credential, bearer, result=False).is_success
            _wait_for(lambda: _injected(run).count(faults.SUBMIT) >= 2, "the business fault")
        bearer = {"Authorization": f"Bearer {token()}"}
        assert business_call(b2c, app.credential, bearer).is_success
    assert len(conversations) >= 9, conversations
    return conversations


def _injected(run: Run) -> list[str]:
    """The faults the log says struck, one entry per traceback."""
    return re.findall(r"injected fault: ([a-z-]+)", run.log.read_text(errors="replace"))


def _wait_for(condition: Callable[[], bool], what: str, wait_s: float = 10) -> None:
    deadline = time.monotonic() + wait_s
    while not condition():
        assert time.monotonic() < deadline, f"waited in vain for {what}"
        time.sleep(0.1)


# -- the stores --------------------------------------------------------------------------


def _outbox_bodies(run: Run) -> Sink:
    """The outbox's message bodies at rest (SMS, callbacks), as the store holds them."""
    if "://" in run.db:
        import psycopg

        schema = run.db.split("schema=")[1]
        with psycopg.connect(POSTGRES_URL) as server:
            server.execute(f"SET search_path TO {schema}")
            rows = server.execute("SELECT body FROM outbox").fetchall()
    else:
        embedded = sqlite3.connect(f"file:{run.db}?mode=ro", uri=True)
        try:
            rows = embedded.execute("SELECT body FROM outbox").fetchall()
        finally:
            embedded.close()
    return Sink("outbox bodies", "\n".join(str(body) for (body,) in rows).encode())


def _dump(run: Run) -> Sink:
    """A PostgreSQL run's whole schema, as ``pg_dump`` writes it."""
    schema = run.db.split("schema=")[1]
    dumped = subprocess.run(
        ["pg_dump", "--no-owner", "--schema", schema, POSTGRES_URL],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return Sink("pg_dump", dumped.stdout)


# -- the test ----------------------------------------------------------------------------


@pytest.fixture(
    params=[
        pytest.param(("sqlite", "console"), id="sqlite-console"),
        pytest.param(("postgresql", "json"), id="postgresql-json", marks=pytest.mark.postgres),
    ]
)
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Run:
    """A run's folder, store and log (console format on SQLite, JSON on PostgreSQL)."""
    store, log_format = request.param
    db = str(tmp_path / "mkoba.db")
    if store == "postgresql":
        db = str(request.getfixturevalue("postgres_url"))
    switch = tmp_path / "faults"
    switch.write_text("", encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}"
    log = tmp_path / f"serve-{log_format}.log"
    return Run(tmp_path, db, url, log_format, log, tmp_path / "keys", switch)


def test_no_secret_reaches_a_log_an_answer_or_the_store(run: Run) -> None:
    gateway_secret = run.canaries.add("USSD gateway secret", text("cnryGateway", 24))
    listener = Listener()
    try:
        with serving(run, gateway_secret):
            run.baseline = run.sinks()
            app = daraja_setup(run)
            configured = time.monotonic()
            native(run)
            ussd(run, gateway_secret)
            statements(run, gateway_secret)
            sms(run)
            time.sleep(max(0.0, registry_refresh_s - (time.monotonic() - configured)))
            conversations = daraja(run, app, listener)

            def answered() -> bool:
                received = "\n".join(json.dumps(r.body) for r in listener.received)
                return all(conversation in received for conversation in conversations)

            _wait_for(answered, "every business result", callbacks_wait_s)
            running = run.sinks()
        stopped = [*run.sinks(), _outbox_bodies(run)]
    finally:
        listener.close()

    # Every fault struck, so the log holds a traceback through each secret-holding frame.
    struck = set(_injected(run))
    expected = {
        faults.SUBMIT,
        faults.PIN_HMAC,
        faults.SMS_GATEWAY,
        faults.STK_PASSWORD,
        *(faults.VAULT_PREFIX + purpose for purpose in ("secret", "token", "initiator")),
    }
    assert struck >= expected, expected - struck
    callbacks = Sink("callbacks", "\n".join(json.dumps(r.body) for r in listener.received).encode())
    hits = run.canaries.hits([*running, *stopped, callbacks])
    where = Counter(f"{hit.canary} ({hit.form}) in {hit.sink}" for hit in hits)
    summary = [f"{count} x {place}" for place, count in sorted(where.items())]
    assert not hits, "\n".join([*summary, "", *(str(hit) for hit in hits[:20])])
