"""The rows committed with the money: request, receipt, usage, statement lines, outbox.

``Rows`` builds them inside the writer's batch, from the ledger's own results and
balances (``engine``), so a receipt exists exactly when its money moved and a
message names the balance the payment left.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, NamedTuple

from mkoba.catalog import Profile
from mkoba.ledger import Write, WriteMode
from mkoba.ledger.engine import Engine
from mkoba.messages import render
from mkoba.money import format_amount
from mkoba.outbox.schema import OUTBOX_COLUMNS
from mkoba.outbox.sealing import seal_body
from mkoba.processor.moments import moment
from mkoba.processor.plan import Note, Plan, Row
from mkoba.processor.request import Request, Response
from mkoba.processor.schema import (
    RECEIPT_COLUMNS,
    REQUEST_COLUMNS,
    SETTLEMENT_COLUMNS,
    STATEMENT_COLUMNS,
)
from mkoba.processor.settlement import Settlement
from mkoba.processor.status import Status

if TYPE_CHECKING:
    from mkoba.processor.services import Services


class Stamp(NamedTuple):
    """When something happened, as receipts and messages show it."""

    now: int
    date: str
    time: str

    @classmethod
    def of(cls, now: int, profile: Profile) -> Stamp:
        """A stamp in the profile's time zone."""
        names = moment(now, profile.timezone)
        return cls(now, names.date, names.time)


class Rows:
    """Builders of the rows each phase attaches to the ledger batch."""

    def __init__(self, services: Services, engine: Engine) -> None:
        self.services = services
        self.engine = engine

    def available(self, account: int) -> int:
        """An account's spendable balance right now (called on the writer thread)."""
        balance = self.engine.balance(account)
        return 0 if balance is None else balance.available

    def request_row(
        self,
        request: Request,
        number: int,
        party_id: int,
        response: Response,
        status: Status,
        now: int,
        fingerprint: str | None = None,
        stored: str = "",
    ) -> Write:
        """The request as stored for replays (``fingerprint``, ``stored``: if known)."""
        values = (
            request.id,
            number,
            str(request.channel),
            request.product,
            party_id,
            fingerprint or request.fingerprint(),
            status,
            str(response.code),
            stored or response.to_json(),
            now,
            now,
        )
        # An upsert, not an insert: an id older than the replay window is a new request
        # (Stripe prunes keys after a day too). Its old row gives way; an insert would
        # fail the writer's whole batch and stop the writer.
        return Write("requests", REQUEST_COLUMNS, values, ("id",), WriteMode.UPSERT)

    def request_update(
        self, number: int, status: Status, response: Response, now: int, stored: str = ""
    ) -> Write:
        """A request's new status and stored response (``stored``: as serialised, if known)."""
        return Write(
            "requests",
            ("number", "status", "code", "response", "updated"),
            (number, status, str(response.code), stored or response.to_json(), now),
            ("number",),
            WriteMode.UPDATE,
        )

    def receipt_row(
        self,
        request: Request,
        number: int,
        plan: Plan,
        receipt: str,
        status: Status,
        profile: Profile,
        now: int,
    ) -> Write:
        """The business record of a transaction."""
        legs = json.dumps([[leg.debit, leg.credit, leg.amount] for leg in plan.legs])
        values = (
            receipt,
            request.id,
            number,
            plan.product,
            status,
            plan.payer_id,
            plan.payee_id,
            plan.amount,
            plan.fee,
            plan.business_fee,
            plan.excise,
            plan.commission,
            plan.usage,
            profile.version,
            plan.reference,
            legs,
            now,
            now if status == Status.COMPLETED else 0,
        )
        return Write("receipts", RECEIPT_COLUMNS, values)

    def receipt_update(self, receipt: str, status: Status, now: int) -> Write:
        """A receipt's new status."""
        completed = now if status == Status.COMPLETED else 0
        return Write(
            "receipts",
            ("receipt", "status", "completed"),
            (receipt, status, completed),
            ("receipt",),
            WriteMode.UPDATE,
        )

    def settled(
        self,
        part: Plan | Settlement,
        number: int,
        request_id: str,
        receipt: str,
        stamp: Stamp,
        profile: Profile,
    ) -> list[Write]:
        """Statement lines, messages and channels' rows for money that has now moved."""
        rows: list[Write] = []
        for index, line in enumerate(part.lines):
            values = (
                line.party_id,
                stamp.now,
                receipt,
                index,
                line.description,
                line.amount,
                self.available(line.account),
            )
            rows.append(Write("statement_lines", STATEMENT_COLUMNS, values))
        for index, note in enumerate(part.notes):
            rows.append(self.note(number, index, request_id, note, receipt, stamp, profile))
        rows.extend(_filled(row, receipt, stamp.now) for row in part.rows)
        return rows

    @staticmethod
    def pending_settlement(number: int, msisdn: str, deadline: int, body: str) -> Write:
        """What posting request ``number`` commits (``settlement.encode``), kept until it ends."""
        assert body
        return Write("pending_settlements", SETTLEMENT_COLUMNS, (number, msisdn, deadline, body))

    @staticmethod
    def settlement_done(number: int) -> Write:
        """Request ``number`` is posted or rolled back: its kept settlement is scrubbed."""
        return Write(
            "pending_settlements",
            ("number", "body"),
            (number, ""),
            ("number",),
            WriteMode.UPDATE,
        )

    @staticmethod
    def filled(row: Row, receipt: str, now: int) -> Write:
        """``row`` with the receipt and ``now`` in the columns it names for them."""
        return _filled(row, receipt, now)

    def note(
        self,
        number: int,
        index: int,
        request_id: str,
        note: Note,
        receipt: str,
        stamp: Stamp,
        profile: Profile,
    ) -> Write:
        """One note rendered into an outbox row, with the moment and balance filled in."""
        params = dict(
            note.params, receipt=receipt, date=stamp.date, time=stamp.time, timestamp=str(stamp.now)
        )
        if note.balance_of:
            minor = self.available(note.balance_of)
            params["balance"] = format_amount(minor, profile.currency)
            params["balance_minor"] = str(minor)
        return self.outbox(
            number,
            index,
            request_id,
            note.recipient,
            note.language,
            note.template,
            params,
            stamp.now,
            note.channel,
            note.secret,
        )

    def outbox(
        self,
        number: int,
        index: int,
        request_id: str,
        recipient: str,
        language: str,
        template: str,
        params: dict[str, str],
        now: int,
        channel: str = "sms",
        secret: bool = False,
    ) -> Write:
        """One message for the outbox (an SMS or a callback), rendered now."""
        assert 0 <= index < 16
        row_id = number * 16 + index
        renderer = self.services.renderers.get(template)
        body = renderer(params) if renderer is not None else render(template, language, params)
        if secret:
            body = seal_body(body, self.services.transport_key, row_id)
        values = (
            row_id,
            request_id,
            channel,
            recipient,
            body,
            "queued",
            0,
            now,
            now,
            now,
            template,
        )
        return Write("outbox", OUTBOX_COLUMNS, values)

    def usage(self, party_id: int, day: str, kind: str, used: int) -> Write:
        """A party's usage of a daily allowance."""
        return usage_row(party_id, day, kind, used)


def usage_row(party_id: int, day: str, kind: str, used: int) -> Write:
    """A party's usage of a daily allowance (``daily_usage``, TranProc's table)."""
    return Write(
        "daily_usage",
        ("party_id", "day", "kind", "used"),
        (party_id, day, kind, used),
        ("party_id", "day", "kind"),
        WriteMode.UPSERT,
    )


def _filled(row: Row, receipt: str, now: int) -> Write:
    """A channel's row with the receipt and the commit time in the columns it names."""
    values = tuple(
        receipt if column == row.receipt else now if column == row.time else value
        for column, value in zip(row.columns, row.values, strict=True)
    )
    return Write(row.table, row.columns, values, row.keys, row.mode)
