"""The menu engine: a hop in, a screen out; every action a request to TranProc.

The engine walks a session through its menu definition: it checks what was
typed (re-prompting with the reason, ending after too many tries), handles
back (``0``), home (``00``) and more (``98``), seals PINs the moment they are
typed, looks the recipient's name up before the PIN screen (Hakikisha), and
turns an action into a ``Request``. It decides nothing about money: the final
screen shows TranProc's answer. A hop's result names the request whose outcome
the screen carries, so the adapter can acknowledge delivery once it is sent.
"""

from __future__ import annotations

import functools
import hmac
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple

from mkoba.catalog import Profile
from mkoba.channels.ussd import screens
from mkoba.channels.ussd.checks import typed
from mkoba.channels.ussd.definition import (
    MONEY_KEYS,
    Lookup,
    RequestSpec,
    ScreenDef,
    screen_chars_max,
)
from mkoba.channels.ussd.gateway import Screen, SessionEnd, UssdEvent
from mkoba.channels.ussd.library import Library
from mkoba.channels.ussd.session import (
    Session,
    Sessions,
    invalid_inputs_max,
    stack_depth_max,
)
from mkoba.codes import Code
from mkoba.commands import BadCommand, parse
from mkoba.messages import render
from mkoba.money import format_amount, parse_amount
from mkoba.parties import (
    InvalidMsisdn,
    Party,
    PartyKind,
    Pin,
    SealedPin,
    SecretKey,
    local_msisdn,
    normalize_msisdn,
    open_pin,
    seal_pin,
)
from mkoba.processor.request import Channel, Request, Response

ROLE_OF = {
    PartyKind.CUSTOMER: "customer",
    PartyKind.AGENT_STORE: "agent",
    PartyKind.AGENT_ASSISTANT: "agent_assistant",
    PartyKind.MERCHANT: "merchant",
}
HOME, BACK, MORE = "00", "0", "98"
_AMOUNT = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,2})?$")
_NUMBER = re.compile(r"^[0-9]{1,12}$")
_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}$")
# An M-Pesa transaction code (receipt): ten letters and digits.
_RECEIPT = re.compile(r"^[A-Za-z0-9]{10}$")

Requester = Callable[[Request], Awaitable[Response]]


@functools.lru_cache(maxsize=65_536)
def _msisdn(text: str, country: str) -> tuple[str, str] | None:
    """A typed number as (canonical, local), or None; cached: parsing numbers is slow."""
    try:
        msisdn = normalize_msisdn(text, country)
    except InvalidMsisdn:
        return None
    return msisdn, local_msisdn(msisdn, country)


class Hop(NamedTuple):
    """A hop's answer, and the request whose outcome it shows (to acknowledge once sent)."""

    screen: Screen
    request_id: str | None = None
    language: str = "en"


class Engine:
    """Runs USSD sessions over menu definitions."""

    def __init__(
        self,
        library: Library,
        sessions: Sessions,
        party_of: Callable[[str], Party | None],
        requester: Requester,
        key: SecretKey,
        profile: Callable[[], Profile],
    ) -> None:
        self.library = library
        self.sessions = sessions
        self.party_of = party_of
        self.requester = requester
        self.key = key
        self.profile = profile
        self.hops = 0

    def phone(self, text: str) -> str | None:
        """The canonical number a gateway's ``phoneNumber`` names, or None."""
        numbers = _msisdn(text, self.profile().country)
        return None if numbers is None else numbers[0]

    async def hop(self, event: UssdEvent) -> Hop:
        """Answer one hop of a session."""
        self.hops += 1
        now = time.monotonic()
        session = self.sessions.get((event.gateway, event.session_id), now)
        if session is None:
            if not _is_dial(event):
                return Hop(Screen.end(render("ussd.expired", "en", {})))
            return await self._dial(event, now)
        if self.phone(event.msisdn) != session.msisdn:
            # A session belongs to the phone that opened it. Another phone with its id is
            # told what a stale id is told, and the session is left exactly as it was.
            return Hop(Screen.end(render("ussd.expired", "en", {})))
        async with session.lock:
            session.touched = now
            session.hops += 1
            text = _new_input(session, event)
            if text is None:
                return Hop(Screen.ask(self._render(session)))
            hop = await self._answer(session, text)
        if not hop.screen.more:
            self.sessions.drop(session.key)
        return hop

    def end(self, ending: SessionEnd) -> bool:
        """The gateway's end-of-session notice: drop the session if it is that phone's."""
        key = (ending.gateway, ending.session_id)
        session = self.sessions.get(key)
        if session is not None and self.phone(ending.msisdn) != session.msisdn:
            return False  # another phone's notice (or none named): the session goes on
        return self.sessions.drop(key, str(ending.ending))

    # -- the dial ---------------------------------------------------------------------

    async def _dial(self, event: UssdEvent, now: float) -> Hop:
        profile = self.profile()
        numbers = _msisdn(event.msisdn, profile.country)
        if numbers is None:
            return Hop(Screen.end(render("ussd.not_registered", "en", {})))
        msisdn, local = numbers
        party = self.party_of(msisdn)
        if party is None or party.state == "unregistered":
            return Hop(Screen.end(render("ussd.not_registered", "en", {})))
        role = ROLE_OF.get(party.kind)
        if role is None:
            return Hop(Screen.end(render("ussd.no_menu", party.language, {})))
        if self.sessions.full():
            return Hop(Screen.end(render("ussd.busy", party.language, {})))
        menu = self.library.current(role)
        language = party.language if party.language in menu.languages else menu.languages[0]
        session = Session(
            event.gateway,
            event.session_id,
            msisdn,
            menu,
            language,
            menu.start,
            created=now,
            touched=now,
            consumed=len(event.path or ()),
        )
        session.values["msisdn_text"] = local
        self.sessions.add(session)
        async with session.lock:
            hop = await self._enter(session, menu.start)
        if not hop.screen.more:
            self.sessions.drop(session.key)
        return hop

    # -- one input --------------------------------------------------------------------

    async def _answer(self, session: Session, text: str) -> Hop:
        menu = session.menu
        if text == HOME:
            session.stack.clear()
            session.values = {"msisdn_text": session.values.get("msisdn_text", "")}
            session.forget_pins()
            return await self._enter(session, menu.start)
        if text == BACK:
            self._back(session)
            return Hop(Screen.ask(self._render(session)))
        screen = menu.screen(session.screen)
        if screen.kind == "menu":
            if text == MORE and session.page + 1 < len(self._pages(session, screen)):
                session.page += 1
                return Hop(Screen.ask(self._render(session)))
            for index, option in enumerate(screen.options):
                if menu.option_key(screen, index) == text:
                    session.values.update(option.set)
                    return await self._go(session, option.next)
            return self._invalid(session, "ussd.invalid.option")
        problem = self._take(session, screen, text)
        if problem is not None:
            return self._invalid(session, problem)
        assert screen.next is not None
        return await self._go(session, screen.next)

    def _back(self, session: Session) -> None:
        session.error = ""
        session.invalid = 0
        if session.page > 0:
            session.page -= 1
        elif session.stack:
            session.screen = session.stack.pop()
            session.page = 0

    def _invalid(self, session: Session, template: str) -> Hop:
        session.invalid += 1
        if session.invalid >= invalid_inputs_max:
            return Hop(Screen.end(render("ussd.too_many_invalid", session.language, {})))
        session.error = render(template, session.language, {})
        return Hop(Screen.ask(self._render(session)))

    def _take(self, session: Session, screen: ScreenDef, text: str) -> str | None:
        """Keep a checked input in the session; the template of the problem, if any."""
        assert screen.field is not None and screen.check is not None
        field, check = screen.field, screen.check
        profile = self.profile()
        values = session.values
        problem = f"ussd.invalid.{check}"
        if check == "msisdn":
            numbers = _msisdn(text, profile.country)
            if numbers is None:
                return problem
            values[field], values[f"{field}_text"] = numbers
        elif check == "amount":
            if not _AMOUNT.match(text):
                return problem
            minor = parse_amount(text, profile.currency)
            if minor <= 0:
                return problem
            values[field] = text
            values[f"{field}_text"] = format_amount(minor, profile.currency)
        elif check in ("number", "account"):
            if not (_NUMBER if check == "number" else _ACCOUNT).match(text):
                return problem
            values[field] = values[f"{field}_text"] = text
        elif check == "receipt":
            if not _RECEIPT.match(text):
                return problem
            values[field] = values[f"{field}_text"] = text.upper()
        elif check in ("email", "code", "name"):
            kept = typed(check, text)
            if kept is None:
                return problem
            values[field] = values[f"{field}_text"] = kept
        else:
            return self._take_pin(session, screen, text)
        return None

    def _take_pin(self, session: Session, screen: ScreenDef, text: str) -> str | None:
        """Seal a typed PIN at once; a confirmation is compared, then dropped."""
        assert screen.field is not None
        problem = f"ussd.invalid.{screen.check}"
        try:
            pin = Pin(text)
        except ValueError:
            return problem
        if screen.check == "confirm_pin":
            assert screen.same_as is not None
            sealed = session.sealed.get(screen.same_as)
            if sealed is None:
                return problem
            first = open_pin(sealed, self.key, session.hold_context(screen.same_as))
            if not hmac.compare_digest(first.reveal().encode(), pin.reveal().encode()):
                return problem
            return None
        session.sealed[screen.field] = seal_pin(pin, self.key, session.hold_context(screen.field))
        return None

    # -- moving on --------------------------------------------------------------------

    async def _go(self, session: Session, target: str) -> Hop:
        if len(session.stack) < stack_depth_max:
            session.stack.append(session.screen)
        return await self._enter(session, target)

    async def _enter(self, session: Session, target: str) -> Hop:
        """Show ``target``, running the look-ups and requests on the way."""
        menu = session.menu
        for _ in range(len(menu.screens)):
            screen = menu.screen(target)
            kind = screen.kind
            if kind in ("menu", "ask"):
                session.screen = target
                session.page = 0
                session.invalid = 0
                return Hop(Screen.ask(self._render(session)))
            if kind == "say":
                assert screen.say is not None
                text = screens.fill(screen.say[session.language], session.values)
                return Hop(Screen.end(screens.cut(text)))
            if kind == "lookup":
                assert screen.lookup is not None and screen.next is not None
                ended = await self._lookup(session, screen.lookup)
                if ended is not None:
                    return ended
                target = screen.next
                continue
            assert screen.request is not None
            return await self._request(session, screen.request)
        raise AssertionError(f"{menu}: a loop of screens without input at {target}")

    async def _lookup(self, session: Session, lookup: Lookup) -> Hop | None:
        """The Hakikisha name for the next screen; a final screen if there is nobody."""
        fields = {"kind": lookup.kind, "number": _raw(lookup.number, session.values)}
        store = _raw(lookup.store or "", session.values)
        if store:
            fields["store"] = store
        response = await self._submit(session, session.next_request_id(), "name_lookup", fields)
        if response.ok:
            session.values["name"] = str(response.data.get("name", ""))
            session.values["masked"] = str(response.data.get("number", ""))
            return None
        if response.code == Code.NAME_LOOKUP_LIMIT:
            # Past the day's look-ups the payer still pays, on the number alone.
            session.values["name"] = session.values["masked"] = ""
            return None
        return Hop(Screen.end(self._failure(session, response)))

    async def _request(self, session: Session, spec: RequestSpec) -> Hop:
        request_id = session.next_request_id()
        context = request_id.encode()
        fields = {
            name: value
            for name, value in ((n, _raw(v, session.values)) for n, v in spec.params.items())
            if value
        }
        try:
            pin = self._reseal(session, spec.pin, context) if spec.pin else None
            new_pin = (
                self._reseal(session, spec.new_pin, context + b":new") if spec.new_pin else None
            )
        finally:
            session.forget_pins()
        response = await self._submit(session, request_id, spec.product, fields, pin, new_pin)
        if not response.ok:
            return Hop(Screen.end(self._failure(session, response)))
        screen = Screen.end(self._success(session, spec, response))
        return Hop(screen, request_id, session.language)

    async def _submit(
        self,
        session: Session,
        request_id: str,
        product: str,
        fields: dict[str, str],
        pin: SealedPin | None = None,
        new_pin: SealedPin | None = None,
    ) -> Response:
        """Parse the answers into the product's command and ask TranProc; the response."""
        try:
            command = parse(product, fields, self.profile())
        except BadCommand as bad:
            return Response(request_id, bad.code, bad.message)
        request = Request(
            request_id,
            Channel.USSD,
            product,
            session.msisdn,
            command,
            pin,
            time.time_ns(),
            phone_verified=True,  # the gateway says which phone dialled
            new_pin=new_pin,
        )
        return await self.requester(request)

    def _reseal(self, session: Session, field: str, context: bytes) -> SealedPin:
        """A held PIN sealed anew for the request (clear only inside this call)."""
        held = session.sealed[field]
        return seal_pin(open_pin(held, self.key, session.hold_context(field)), self.key, context)

    # -- screens ----------------------------------------------------------------------

    def _render(self, session: Session) -> str:
        menu = session.menu
        screen = menu.screen(session.screen)
        footer = "" if session.screen == menu.start else render("ussd.nav", session.language, {})
        error, session.error = session.error, ""
        if screen.kind == "menu":
            listing = self._pages(session, screen)
            page = listing[min(session.page, len(listing) - 1)]
            return screens.fit(f"{error}\n{page}" if error else page)
        assert screen.ask is not None
        body = screens.fill(screen.ask[session.language], session.values)
        if error:
            body = f"{error}\n{body}"
        if not footer:
            return screens.fit(body)
        room = screen_chars_max - len(footer) - 1
        return f"{screens.fit(body, room)}\n{footer}"

    def _pages(self, session: Session, screen: ScreenDef) -> list[str]:
        menu = session.menu
        language = session.language
        assert screen.menu is not None
        options = [
            (menu.option_key(screen, index), screens.fill(option.label[language], session.values))
            for index, option in enumerate(screen.options)
        ]
        footer = "" if session.screen == menu.start else render("ussd.nav", language, {})
        title = screens.fill(screen.menu[language], session.values)
        return screens.pages(title, options, footer, render("ussd.more", language, {}))

    def _success(self, session: Session, spec: RequestSpec, response: Response) -> str:
        language = session.language
        if spec.show == "statement":
            return self._statement(language, response.data.get("entries", []))
        if spec.done is None:
            return screens.cut(screens.fill("{message}", {"message": response.message}))
        values = dict(session.values)
        values["message"] = response.message
        values["receipt"] = response.receipt or ""
        currency = self.profile().currency
        for name, value in response.data.items():
            if isinstance(value, bool) or not isinstance(value, int | str):
                continue
            if isinstance(value, int) and name in MONEY_KEYS:
                values[f"{name}_text"] = format_amount(value, currency)
            values.setdefault(name, str(value))
        return screens.cut(screens.fill(spec.done[language], values))

    def _failure(self, session: Session, response: Response) -> str:
        """The outcome of a refused request: the product's own words, or the code's."""
        if session.language == "en" and response.message:
            return screens.cut(screens.fill("{message}", {"message": response.message}))
        return screens.cut(render(f"ussd.code.{response.code}", session.language, {}))

    def _statement(self, language: str, entries: Any) -> str:
        currency = self.profile().currency
        lines = [render("ussd.statement.title", language, {})]
        rows = entries if isinstance(entries, list) else []
        for entry in rows:
            if not isinstance(entry, Mapping):
                continue
            amount = entry.get("amount")
            if not isinstance(amount, int):
                continue
            at = str(entry.get("at", ""))
            day = f"{at[8:10]}/{at[5:7]}" if len(at) >= 10 else ""
            sign = "+" if amount > 0 else "-"
            money = format_amount(abs(amount), currency, symbol=False)
            line = screens.fill(f"{entry.get('receipt', '')} {day} {sign}{money}", {})
            if sum(len(x) + 1 for x in lines) + len(line) > screen_chars_max:
                break
            lines.append(line)
        if len(lines) == 1:
            lines.append(render("ussd.statement.empty", language, {}))
        return screens.cut("\n".join(lines))


def _is_dial(event: UssdEvent) -> bool:
    """Whether a hop opens a session (no input yet)."""
    if event.path is not None:
        return len(event.path) == 0
    return event.latest is None


def _new_input(session: Session, event: UssdEvent) -> str | None:
    """What the user typed since the last hop; None for a repeated hop."""
    if event.path is None:
        return event.latest
    path = event.path
    if len(path) <= session.consumed:
        return None
    text = "*".join(path[session.consumed :])
    session.consumed = len(path)
    return text.strip()


def _raw(template: str, values: Mapping[str, str]) -> str:
    """A request parameter from the values typed (not screen-sanitised)."""
    return template.format_map(_Missing(values)).strip()


class _Missing(dict[str, str]):
    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)

    def __missing__(self, key: str) -> str:
        return ""
