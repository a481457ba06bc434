"""The commands of money requests, split bills and gift vouchers (the app's products).

A split bill names its friends and, optionally, each one's share in one text field
each (commas between); ``refined`` reads them once, at the edge, into canonical
phone numbers and minor units, so the product parses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mkoba.catalog import Profile
from mkoba.commands.base import Amount, Command, Msisdn, Text
from mkoba.commands.fields import invalid, msisdn
from mkoba.money import parse_amount

# A bill is split among at most this many friends, whatever a profile says (a bound on
# the rows one request writes); profiles set their own, lower, cap.
bill_friends_max = 30
# A note travels in the payer's SMS: a few words ("lunch at Java"), not a letter.
note_length_max = 60


def _check_note(note: str) -> None:
    if len(note) > note_length_max:
        raise invalid(f"note: at most {note_length_max} characters")


@dataclass(frozen=True, slots=True)
class RequestMoney(Command):
    """Ask ``payer`` for ``amount``, with a note they read."""

    products: ClassVar[tuple[str, ...]] = ("request_money",)
    payer: Msisdn
    amount: Amount
    note: Text = ""

    def refined(self, profile: Profile) -> RequestMoney:
        """A note short enough for an SMS."""
        _check_note(self.note)
        return self


@dataclass(frozen=True, slots=True)
class RequestNumber(Command):
    """Pay or decline a money request, by the number its SMS gives."""

    products: ClassVar[tuple[str, ...]] = ("pay_request", "decline_request")
    number: Text


@dataclass(frozen=True, slots=True)
class SplitBill(Command):
    """Split ``total`` among ``friends`` (numbers, commas between): equally, or by ``shares``.

    After ``refined``: ``friends`` are canonical numbers and ``shares`` minor units, each
    joined with commas.
    """

    products: ClassVar[tuple[str, ...]] = ("split_bill",)
    friends: Text
    total: Amount
    shares: Text = ""
    note: Text = ""

    def refined(self, profile: Profile) -> SplitBill:
        """Friends as canonical numbers (no repeats); shares in minor units, one per friend."""
        _check_note(self.note)
        names = [part.strip() for part in self.friends.split(",") if part.strip()]
        if not names:
            raise invalid("friends: at least one phone number")
        if len(names) > bill_friends_max:
            raise invalid(f"friends: at most {bill_friends_max}")
        numbers = [msisdn("friends", name, profile.country) for name in names]
        if len(set(numbers)) != len(numbers):
            raise invalid("friends: a number is listed twice")
        shares = ""
        if self.shares:
            texts = [part.strip() for part in self.shares.split(",")]
            if len(texts) != len(numbers):
                raise invalid("shares: one share for each friend")
            minor = []
            for text in texts:
                try:
                    value = parse_amount(text, profile.currency)
                except ValueError as error:
                    raise invalid(f"shares: {error}") from None
                if value <= 0:
                    raise invalid("shares: each share is more than zero")
                minor.append(value)
            if sum(minor) != self.total:
                raise invalid("shares: the shares must add up to the total")
            shares = ",".join(str(value) for value in minor)
        return SplitBill(",".join(numbers), self.total, shares, self.note)

    def split(self) -> list[tuple[str, int]]:
        """Each friend and their share: as given, or equal with the remainder cents first."""
        numbers = self.friends.split(",")
        if self.shares:
            return list(zip(numbers, (int(value) for value in self.shares.split(",")), strict=True))
        base, remainder = divmod(self.total, len(numbers))
        # The first ``remainder`` friends, in the order given, pay one cent more.
        return [
            (number, base + (1 if index < remainder else 0)) for index, number in enumerate(numbers)
        ]


@dataclass(frozen=True, slots=True)
class BillNumber(Command):
    """Who has paid a split bill, by the bill's number."""

    products: ClassVar[tuple[str, ...]] = ("bill_status",)
    bill: Text


@dataclass(frozen=True, slots=True)
class MyRequests(Command):
    """The open requests to and from the asker, and their bills."""

    products: ClassVar[tuple[str, ...]] = ("my_requests",)


@dataclass(frozen=True, slots=True)
class BuyGift(Command):
    """A gift voucher of ``amount`` for the phone ``to``, registered or not."""

    products: ClassVar[tuple[str, ...]] = ("buy_gift",)
    to: Msisdn
    amount: Amount


@dataclass(frozen=True, slots=True)
class RedeemGift(Command):
    """A gift voucher pays a till: the till types the recipient's number and the code, or
    the recipient, on their own phone, names the ``till`` and types the code."""

    products: ClassVar[tuple[str, ...]] = ("redeem_gift",)
    code: Text
    recipient: Msisdn = ""
    till: Text = ""

    def refined(self, profile: Profile) -> RedeemGift:
        """One of the two ways: a recipient's number (a till asks) or a till (a recipient asks)."""
        if not self.recipient and not self.till:
            raise invalid("recipient: the number the gift was sent to (or till: the till to pay)")
        return self


@dataclass(frozen=True, slots=True)
class CashGift(Command):
    """The recipient puts a gift voucher sent to their own number into their wallet."""

    products: ClassVar[tuple[str, ...]] = ("cash_gift",)
    code: Text


APP_PAYMENTS: tuple[type[Command], ...] = (
    RequestMoney,
    RequestNumber,
    SplitBill,
    BillNumber,
    MyRequests,
    BuyGift,
    RedeemGift,
    CashGift,
)
