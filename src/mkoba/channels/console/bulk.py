"""Bulk disbursement: a file of payees, approved by a checker, paid row by row as B2C.

A maker uploads a CSV (``bulk_file``): every line is checked, and a file with any bad
line is refused whole, each problem with its line number. A good file becomes a batch
(``mkoba.staff.batches``) and a pending staff command (``bulk_disbursement``) whose
before/after view shows the rows, the total, the B2C fees and the organisation's
utility account before and after; a batch the account cannot pay is refused there.

Once a checker approves it (TranProc checks the account again and records who
approved it), the console pays the rows one by one in the background: each row is one
``bulk_payment`` request on the staff channel, with the maker and the checker, whose
id is the batch's and the row's (``bulk:7:12``). A row is marked ``sending`` before it
goes, so a restart sends the unfinished rows again with the same ids and TranProc
answers those it decided as it did the first time: no row is paid twice. A row that
fails (an unregistered number, a limit) keeps its code and message; the rest go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import logging
import time
from typing import TYPE_CHECKING

from mkoba.channels.console.auth import Caller, Refusal, record
from mkoba.channels.console.bulk_file import BadFile, Payee, read
from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.money import Currency, format_amount
from mkoba.parties import PartyKind
from mkoba.processor.request import Channel, Request, Response, Staff
from mkoba.staff import accounts, batches
from mkoba.staff import commands as book
from mkoba.staff.batches import Batch, Row
from mkoba.staff.commands import StaffCommand
from mkoba.staff.policy import Mode
from mkoba.text import text_problem

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

log = logging.getLogger(__name__)

PRODUCT = "bulk_disbursement"
ROW_PRODUCT = "bulk_payment"
# What a batch's title may be (its file's name, or what the maker calls it).
title_chars_max = 80
# A row TranProc could not decide (busy) is sent again this many times, this far apart.
busy_tries_max = 5
busy_pause_s = 0.5
RESULT_COLUMNS = (
    "line",
    "phone",
    "amount",
    "fee",
    "reference",
    "name",
    "state",
    "receipt",
    "result_code",
    "result",
)


class Bulk:
    """Uploads, the approval's consequences, and the background payer."""

    def __init__(self, console: ConsoleChannel) -> None:
        self.console = console
        self._lock = asyncio.Lock()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        console.desk.settled[PRODUCT] = self.settled

    # -- upload -----------------------------------------------------------------------

    async def upload(
        self, who: Caller, shortcode: str, title: str, text: str, note: str, where: str
    ) -> tuple[Batch, StaffCommand]:
        """Check a file whole; record a good one as a batch waiting for a checker."""
        console = self.console
        policy = console.policy
        role = who.account.role
        if not (policy.may(role, PRODUCT, Mode.MAKE) or policy.may(role, PRODUCT, Mode.DO)):
            await record(console, who, where, "bulk.upload", "forbidden")
            raise Refusal(403, f"Your role may not {policy.actions[PRODUCT].what.lower()}.")
        profile = console.ports.profile()
        if "b2c" not in profile.products:
            raise Refusal(
                409,
                f"The {profile.name} profile offers no B2C payments, so no bulk disbursement:"
                " its catalog would need a b2c tariff.",
            )
        for name, value in (("shortcode", shortcode), ("title", title), ("note", note)):
            problem = text_problem(value)
            if problem is not None:
                raise Refusal(422, f"{name} {problem}")
        shortcode = shortcode.strip()
        payer = console.reads.directory.by_number(PartyKind.ORGANISATION, shortcode)
        if payer is None:
            raise Refusal(422, f"shortcode: there is no organisation {shortcode[:20]!r}.")
        title = " ".join(title.split())[:title_chars_max] or "upload"
        try:
            payees = read(text, profile)
        except BadFile as bad:
            detail: dict[str, object] = {
                "shortcode": shortcode,
                "problems": len(bad.problems),
                "lines": [problem.line for problem in bad.problems[:20]],
            }
            await record(console, who, where, "bulk.upload", "refused", detail=detail)
            raise
        batch = await self._record(who, shortcode, payer.name, title, payees)
        fields = {
            "batch": str(batch.id),
            "shortcode": shortcode,
            "amount": format_amount(batch.total + batch.fees, profile.currency, symbol=False),
        }
        try:
            made = await console.desk.make(who, PRODUCT, fields, note, where)
        except Refusal:
            await self._write(batch._replace(state=batches.CLOSED, updated=time.time_ns()))
            raise
        # Only the command's id: a checker may have approved it already (and the batch be
        # paying), so its state is not this write's to set.
        await console.tables.submit([batches.command_update(batch.id, made.id, time.time_ns())])
        current = await console.read(batches.get, batch.id)
        assert current is not None
        detail = {
            "batch": batch.id,
            "rows": batch.row_count,
            "total": batch.total,
            "fees": batch.fees,
            "command": made.id,
        }
        await record(console, who, where, "bulk.upload", "ok", entity=batch.entity, detail=detail)
        return current, made

    async def _record(
        self, who: Caller, shortcode: str, payer: str, title: str, payees: list[Payee]
    ) -> Batch:
        console = self.console
        now = time.time_ns()
        async with self._lock:
            number = await console.read(batches.next_id)
            batch = Batch(
                id=number,
                shortcode=shortcode,
                payer=payer,
                title=title,
                row_count=len(payees),
                total=sum(payee.amount for payee in payees),
                fees=sum(payee.fee for payee in payees),
                state=batches.WAITING,
                command_id=0,
                maker_id=who.account.id,
                maker=who.account.username,
                created=now,
                updated=now,
            )
            rows = [
                Row(
                    number,
                    payee.line,
                    payee.phone,
                    payee.amount,
                    payee.fee,
                    payee.reference,
                    payee.name,
                    batches.WAITING,
                    "",
                    "",
                    "",
                    now,
                )
                for payee in payees
            ]
            await console.tables.submit(batches.new_rows(batch, rows))
        return batch

    # -- approval ---------------------------------------------------------------------

    async def settled(self, command: StaffCommand) -> None:
        """The batch's command is settled: approved and recorded (pay), or closed."""
        batch_id = command.fields.get("batch", "")
        if not batch_id.isdigit():
            return
        batch = await self.console.read(batches.get, int(batch_id))
        if batch is None or batch.state != batches.WAITING:
            return
        now = time.time_ns()
        if command.state == book.DONE:
            await self._write(
                batch._replace(state=batches.PAYING, command_id=command.id, updated=now)
            )
            self._start(batch.id)
        elif not command.open:
            await self._write(
                batch._replace(state=batches.CLOSED, command_id=command.id, updated=now)
            )

    async def resume(self) -> int:
        """At start: settle what a stop left between approval and paying; pay on."""
        console = self.console
        waiting = await console.read(batches.listing, (batches.WAITING,), 1000)
        for batch in waiting:
            # The newest command on the batch (a stop may have come before its id was kept).
            found = await console.read(book.on_entity, batch.entity, 1)
            if not found:
                # Stopped between recording the file and making its command: it never was one.
                await self._write(batch._replace(state=batches.CLOSED, updated=time.time_ns()))
                continue
            (command,) = found
            if command.id != batch.command_id:
                await console.tables.submit(
                    [batches.command_update(batch.id, command.id, time.time_ns())]
                )
            if not command.open:
                await self.settled(command)
        paying = await console.read(batches.listing, (batches.PAYING,), 1000)
        for batch in paying:
            self._start(batch.id)
        return len(paying)

    async def stop(self) -> None:
        """Stop paying; the rows left are paid at the next start."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def idle(self) -> None:
        """Wait until no batch is being paid (tests, and an orderly stop)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    # -- paying -----------------------------------------------------------------------

    def _start(self, batch_id: int) -> None:
        if batch_id in self._tasks:
            return
        task = asyncio.create_task(self._pay(batch_id), name=f"bulk-{batch_id}")
        self._tasks[batch_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(batch_id, None))

    async def _pay(self, batch_id: int) -> None:
        try:
            await self._pay_rows(batch_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("bulk batch %d: paying stopped; it goes on at the next start", batch_id)

    async def _pay_rows(self, batch_id: int) -> None:
        console = self.console
        batch = await console.read(batches.get, batch_id)
        if batch is None or batch.state != batches.PAYING:
            return
        command = await console.read(book.get, batch.command_id)
        assert command is not None, batch
        maker = await console.read(accounts.by_id, console.key, command.maker_id)
        checker = (
            await console.read(accounts.by_id, console.key, command.checker_id)
            if command.checker_id
            else None
        )
        left = await console.read(batches.rows_of, batch_id, (batches.WAITING, batches.SENDING))
        for row in left:
            if maker is None:
                gone = Response(row.request_id, Code.NOT_ALLOWED, "The maker's account is gone.")
                await self._settle_row(row, gone)
                continue
            if row.state == batches.WAITING:
                await self._write_row(row._replace(state=batches.SENDING, updated=time.time_ns()))
            response = await self._send(batch, row, _staff(maker, checker))
            if response is None:
                log.warning("bulk batch %d: TranProc is busy; the rest is paid at start", batch_id)
                return
            await self._settle_row(row, response)
        finished = batch._replace(state=batches.FINISHED, updated=time.time_ns())
        await self._write(finished)
        done = await console.read(batches.progress, batch_id)
        await console.trail.append(
            time.time_ns(),
            "bulk.finished",
            "finished",
            actor=command.maker,
            entity=batch.entity,
            detail={
                "batch": batch_id,
                "paid": done.paid,
                "failed": done.failed,
                "paid_amount": done.paid_amount,
            },
        )

    async def _send(self, batch: Batch, row: Row, staff: Staff) -> Response | None:
        """TranProc's answer to one row (None: still undecided after a few tries)."""
        ports = self.console.ports
        command = commands.BulkPayment(batch.shortcode, row.phone, row.amount, row.reference)
        request = Request(
            row.request_id,
            Channel.STAFF,
            ROW_PRODUCT,
            f"staff:{staff.maker}",
            command,
            received=time.time_ns(),
            staff=staff,
        )
        for _ in range(busy_tries_max):
            response = await ports.request(request)
            if response.code is not Code.SYSTEM_BUSY:
                if response.ok and not await ports.acknowledge(request.id):
                    return Response(request.id, Code.ROLLED_BACK, "The payment was rolled back.")
                return response
            await asyncio.sleep(busy_pause_s)
        return None

    async def _settle_row(self, row: Row, response: Response) -> None:
        settled = row._replace(
            state=batches.PAID if response.ok else batches.FAILED,
            receipt=response.receipt or "",
            code=str(response.code),
            message=response.message[:200],
            updated=time.time_ns(),
        )
        await self._write_row(settled)

    async def _write(self, batch: Batch) -> None:
        await self.console.tables.submit([batches.batch_update(batch)])

    async def _write_row(self, row: Row) -> None:
        await self.console.tables.submit([batches.row_update(row)])


def _staff(maker: accounts.StaffAccount, checker: accounts.StaffAccount | None) -> Staff:
    phones = tuple(p for p in (maker.phone, checker.phone if checker else "") if p)
    return Staff(maker.username, maker.role, checker.username if checker else "", phones)


def result_csv(rows: list[Row], currency: Currency) -> str:
    """A batch's result file: each row as uploaded (amounts in major units), and its result."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RESULT_COLUMNS)
    for row in rows:
        writer.writerow(
            (
                row.line,
                row.phone,
                _major(row.amount, currency),
                _major(row.fee, currency),
                _safe(row.reference),
                _safe(row.name),
                row.state,
                row.receipt,
                row.code,
                _safe(row.message),
            )
        )
    return out.getvalue()


def _major(minor: int, currency: Currency) -> str:
    whole, fraction = divmod(minor, currency.minor_per_major)
    return f"{whole}.{fraction:0{currency.scale}d}" if currency.scale else str(whole)


def _safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
