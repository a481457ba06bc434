"""Full statements by email, as M-Pesa sends them: register an address, then ask.

``email_code``: the customer types an address (USSD: My Account, Full Statement,
Register email); mkoba emails a one-time code to it (``email_codes``). The phone
itself proves who asks (on the API, the PIN).

``register_email``: the customer types the code with the PIN; only a code sent to
this customer, asked from this phone, still fresh and within its tries registers the
address on the party (``Change.emails``, committed with the directory).

``full_statement``: with the PIN, the statement of the last 1, 3, 6 or 12 months.
TranProc records the request; after the commit, the outbox's statement deliverer
(``mkoba.statements.delivery``) builds the PDF, locked with a fresh password, and
emails it to the registered address; the password goes to the phone by SMS. A
customer asks a few times a day at most.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import secrets

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import Change, Party, PartyKind
from mkoba.parties.emails import InvalidEmail, mask_email, normalize_email
from mkoba.processor.context import Context
from mkoba.processor.plan import Note, Record, Refused
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response
from mkoba.products import email_codes
from mkoba.products.email_codes import Pending
from mkoba.products.kit import Kit

# The ranges a customer may ask for, in months back from today (M-Pesa's choices).
MONTHS = (1, 3, 6, 12)
# Statements one wallet may have emailed in a day.
statements_per_day = 3
# The PDF's password: letters and digits no one confuses (no 0/O, 1/I/L), 31^8 of them.
_UNAMBIGUOUS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
password_chars = 8
_NS = 1_000_000_000
HOW_TO_REGISTER = (
    "No email is registered for statements. Dial *334#, My Account, Full Statement,"
    " Register email, to add one."
)


def new_password() -> str:
    """A fresh password for one statement's PDF."""
    return "".join(secrets.choice(_UNAMBIGUOUS) for _ in range(password_chars))


def months_back(today: dt.date, months: int) -> dt.date:
    """The first day of a range of ``months`` that ends with ``today``."""
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    month += 1
    day = min(today.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day) + dt.timedelta(days=1)


def _customer(ctx: Context) -> Party:
    party = ctx.initiator(PartyKind.CUSTOMER)
    if not party.msisdn:
        raise Refused(Code.NOT_ALLOWED, "Statements go to a customer's own phone.")
    return party


class EmailCode:
    """Send a one-time code to the address a customer wants to register."""

    name = "email_code"
    # The phone itself (USSD), or the PIN: an email goes out, so the phone must be theirs.
    proof = Proof.PHONE

    def __init__(self, kit: Kit) -> None:
        self.kit = kit

    async def run(self, ctx: Context) -> Record:
        """Check the address and today's count; keep the code's digest; email the code."""
        party = _customer(ctx)
        await ctx.authenticate(party)
        try:
            address = normalize_email(ctx.command_as(commands.EmailCode).address)
        except InvalidEmail as error:
            raise Refused(Code.INVALID_INPUT, f"address: {error}") from None
        key = self.kit.code_key()
        if ctx.usage(party, "email_codes") >= email_codes.codes_per_day:
            raise Refused(
                Code.LIMIT_EXCEEDED,
                f"You can ask for {email_codes.codes_per_day} email codes a day. Try tomorrow.",
            )
        ctx.count(party, "email_codes")
        code = email_codes.new_code()
        msisdn = party.msisdn or ""
        pending = Pending(
            party.id,
            msisdn,
            address,
            email_codes.digest(key, party.id, msisdn, address, code),
            ctx.now,
            ctx.now + email_codes.code_life_s * _NS,
        )
        minutes = str(email_codes.code_life_s // 60)
        note = Note(
            address,
            party.language,
            "email.code",
            {"code": code, "minutes": minutes},
            channel="email",
            secret=True,
        )
        shown = mask_email(address)
        response = Response(
            ctx.request.id,
            Code.OK,
            f"We sent a code to {shown}. Enter it within {minutes} minutes under My Account,"
            " Full Statement, Confirm email.",
            None,
            {"email": shown, "minutes": minutes},
        )
        return Record(response, party.id, notes=(note,), rows=(email_codes.pending_row(pending),))


class RegisterEmail:
    """Register the address a customer's code was sent to, once the code and PIN are right."""

    name = "register_email"
    proof = Proof.PIN

    def __init__(self, kit: Kit) -> None:
        self.kit = kit

    async def run(self, ctx: Context) -> Record:
        """PIN first, then the code: this customer's, from this phone, fresh, within its tries."""
        party = _customer(ctx)
        await ctx.verify_pin(party)
        code = ctx.command_as(commands.EmailConfirm).code
        if not (code.isascii() and code.isdigit() and len(code) == email_codes.code_digits):
            raise Refused(
                Code.INVALID_INPUT, f"code: the {email_codes.code_digits} digits we emailed"
            )
        key = self.kit.code_key()
        pending = await asyncio.to_thread(email_codes.get, ctx.services.store, party.id)
        if pending is None or pending.expires <= ctx.now:
            raise Refused(
                Code.NOT_ALLOWED, "There is no code waiting: ask for one under Register email."
            )
        kind = pending.tries_kind()
        if ctx.usage(party, kind) >= email_codes.code_tries_max:
            raise Refused(Code.NOT_ALLOWED, "Too many wrong codes: ask for a new one.")
        if not email_codes.matches(key, pending, party.msisdn or "", code):
            left = email_codes.code_tries_max - ctx.count(party, kind)
            if left <= 0:
                raise Refused(Code.NOT_ALLOWED, "Wrong code. Ask for a new one.")
            tries = "try" if left == 1 else "tries"
            raise Refused(Code.INVALID_INPUT, f"Wrong code. {left} {tries} left.")
        change = Change(
            emails=((party.id, pending.address, ctx.now),),
            audit=((ctx.now, party.id, "register_email", party.id, {}),),
        )
        shown = mask_email(pending.address)
        note = Note(party.msisdn or "", party.language, "email.registered", {"email": shown})
        response = Response(
            ctx.request.id,
            Code.OK,
            f"Your statements will be sent to {shown}.",
            None,
            {"email": shown},
        )
        return Record(
            response, party.id, change, notes=(note,), rows=(email_codes.used_row(party.id),)
        )


class FullStatement:
    """Email a customer the statement of their last months, locked with a password by SMS."""

    name = "full_statement"
    proof = Proof.PIN

    async def run(self, ctx: Context) -> Record:
        """Check the range, the address and today's count; order the delivery."""
        party = _customer(ctx)
        await ctx.verify_pin(party)
        months = ctx.command_as(commands.FullStatement).months
        if months not in {str(choice) for choice in MONTHS}:
            raise Refused(Code.INVALID_INPUT, f"months: one of {', '.join(map(str, MONTHS))}")
        address = ctx.directory.email(party.id)
        if address is None:
            raise Refused(Code.NOT_ALLOWED, HOW_TO_REGISTER)
        if ctx.usage(party, "statements") >= statements_per_day:
            raise Refused(
                Code.LIMIT_EXCEEDED,
                f"You can ask for {statements_per_day} statements a day. Try tomorrow.",
            )
        ctx.count(party, "statements")
        end = ctx.local_time().date()
        start = months_back(end, int(months))
        password = new_password()
        shown = mask_email(address)
        dates = {"start": start.isoformat(), "end": end.isoformat()}
        order = Note(
            address,
            party.language,
            "statement.delivery",
            {**dates, "party_id": str(party.id), "password": password},
            channel="statement",
            secret=True,
        )
        sms = Note(
            party.msisdn or "",
            party.language,
            "statement.requested",
            {**dates, "email": shown, "password": password},
            secret=True,
        )
        response = Response(
            ctx.request.id,
            Code.OK,
            f"Your statement from {start.isoformat()} to {end.isoformat()} will be emailed"
            f" to {shown}. The password comes by SMS.",
            None,
            {**dates, "email": shown},
        )
        return Record(response, party.id, notes=(order, sms))
