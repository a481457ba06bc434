"""``/staff/v1/bulk``: bulk disbursement files, their progress and their result files.

``POST /bulk`` takes a CSV (``bulk_file``) and the organisation that pays: a file with
any bad line is refused (422) with every bad line's number and problem, and nothing is
recorded; a good one becomes a batch and a pending ``bulk_disbursement`` command,
which a checker approves like any other (``/commands/{id}/approve``). Reading a batch
shows its progress; its rows (phones, names) and its result file are personal data,
so each read is in the audit trail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.channels.console.bulk import PRODUCT, result_csv
from mkoba.channels.console.bulk_file import BadFile, Problem, bytes_max
from mkoba.staff import batches
from mkoba.staff import commands as book
from mkoba.staff.batches import Batch, Progress, Row
from mkoba.text import text_problem

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

list_limit_max = 500


class Upload(BaseModel):
    """A bulk disbursement file: who pays, the CSV, and a note for the checker."""

    model_config = ConfigDict(extra="forbid")

    shortcode: str = Field(min_length=1, max_length=20, examples=["600000"])
    title: str = Field("", max_length=80, examples=["March stipends"])
    csv: str = Field(
        min_length=1,
        max_length=bytes_max,
        examples=["phone,amount,reference,name\n0712345678,1500,MAR-001,Amina Wanjiru\n"],
    )
    note: str = Field("", max_length=book.note_chars_max)

    @field_validator("shortcode", "title", "note")
    @classmethod
    def _storable(cls, value: str) -> str:
        problem = text_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class ProgressOut(BaseModel):
    """How far the payments are."""

    paid: int
    failed: int
    remaining: int
    paid_amount: int
    failed_amount: int


class BatchOut(BaseModel):
    """A batch: who pays, how much, its command and where its payments stand."""

    id: int
    shortcode: str
    payer: str
    title: str
    rows: int
    total: int
    fees: int
    state: Literal["waiting", "paying", "finished", "closed"]
    command: int
    command_state: str
    maker: str
    created: int
    updated: int
    progress: ProgressOut


class RowOut(BaseModel):
    """One payee and what came of their payment."""

    line: int
    phone: str
    amount: int
    fee: int
    reference: str
    name: str
    state: Literal["waiting", "sending", "paid", "failed"]
    receipt: str
    code: str
    message: str


def may_see(console: ConsoleChannel, who: Caller) -> None:
    """Refuse a caller whose role has no part in bulk disbursement."""
    if not console.policy.sees(who.account.role, PRODUCT):
        raise Refusal(403, "Your role has no part in bulk disbursement.")


async def found(console: ConsoleChannel, batch_id: int) -> Batch:
    """The batch, or 404."""
    batch = await console.read(batches.get, batch_id)
    if batch is None:
        raise Refusal(404, f"There is no batch {batch_id}.")
    return batch


async def batch_out(console: ConsoleChannel, batch: Batch) -> BatchOut:
    """A batch with its command's state and its progress."""
    command = await console.read(book.get, batch.command_id) if batch.command_id else None
    done: Progress = await console.read(batches.progress, batch.id)
    return BatchOut(
        id=batch.id,
        shortcode=batch.shortcode,
        payer=batch.payer,
        title=batch.title,
        rows=batch.row_count,
        total=batch.total,
        fees=batch.fees,
        state=batch.state,  # type: ignore[arg-type]
        command=batch.command_id,
        command_state=command.state if command is not None else "",
        maker=batch.maker,
        created=batch.created,
        updated=batch.updated,
        progress=ProgressOut(**done._asdict()),
    )


def row_out(row: Row) -> RowOut:
    """A row as the API shows it."""
    return RowOut(
        line=row.line,
        phone=row.phone,
        amount=row.amount,
        fee=row.fee,
        reference=row.reference,
        name=row.name,
        state=row.state,  # type: ignore[arg-type]
        receipt=row.receipt,
        code=row.code,
        message=row.message,
    )


def refused_file(problems: list[Problem]) -> str:
    """What a refused file's answer says first."""
    count = len(problems)
    return (
        f"The file has {count} bad line{'s' if count != 1 else ''}: nothing was recorded."
        " Fix them and upload it again."
    )


async def result_file(console: ConsoleChannel, who: Caller, batch: Batch, where: str) -> Response:
    """A batch's result file as a CSV download (audited: phones and names)."""
    rows = await console.read(batches.rows_of, batch.id)
    await record(
        console, who, where, "bulk.result", entity=batch.entity, detail={"rows": len(rows)}
    )
    body = result_csv(rows, console.ports.profile().currency)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="batch-{batch.id}-result.csv"',
            "Cache-Control": "no-store",
        },
    )


def router(console: ConsoleChannel) -> APIRouter:
    """The bulk disbursement routes over ``console``."""
    api = APIRouter(prefix="/staff/v1", tags=["bulk"])
    bulk = console.bulk

    @api.post(
        "/bulk",
        response_model=BatchOut,
        status_code=201,
        responses={422: {"description": "The file's bad lines, each with its problem."}},
    )
    async def upload(body: Upload, http: Request) -> BatchOut | JSONResponse:
        """Upload a file of payees: refused whole for any bad line, else it waits for a checker."""
        who = await caller(console, http, writes=True)
        try:
            batch, _ = await bulk.upload(
                who, body.shortcode, body.title, body.csv, body.note, origin(http)
            )
        except BadFile as bad:
            rows = [{"line": p.line, "problem": p.problem} for p in bad.problems]
            return JSONResponse(
                {"error": refused_file(bad.problems), "rows": rows}, status_code=422
            )
        return await batch_out(console, batch)

    @api.get("/bulk", response_model=list[BatchOut])
    async def listing(
        http: Request, limit: int = Query(100, ge=1, le=list_limit_max)
    ) -> list[BatchOut]:
        """The newest batches."""
        who = await caller(console, http)
        may_see(console, who)
        found_ = await console.read(batches.listing, (), limit)
        await record(console, who, origin(http), "bulk.list", detail={"rows": len(found_)})
        return [await batch_out(console, batch) for batch in found_]

    @api.get("/bulk/{batch_id}", response_model=BatchOut, responses={404: {}})
    async def one(batch_id: int, http: Request) -> BatchOut:
        """One batch and how far its payments are."""
        who = await caller(console, http)
        may_see(console, who)
        return await batch_out(console, await found(console, batch_id))

    @api.get("/bulk/{batch_id}/rows", response_model=list[RowOut], responses={404: {}})
    async def rows(batch_id: int, http: Request) -> list[RowOut]:
        """A batch's payees and their results (personal data: audited)."""
        who = await caller(console, http)
        may_see(console, who)
        batch = await found(console, batch_id)
        listed = await console.read(batches.rows_of, batch.id)
        detail: dict[str, object] = {"rows": len(listed)}
        await record(console, who, origin(http), "bulk.view", entity=batch.entity, detail=detail)
        return [row_out(row) for row in listed]

    @api.get(
        "/bulk/{batch_id}/result.csv",
        response_class=Response,
        responses={200: {"content": {"text/csv": {}}}, 404: {}},
    )
    async def result(batch_id: int, http: Request) -> Response:
        """The result file: each row, its state, receipt and result (CSV)."""
        who = await caller(console, http)
        may_see(console, who)
        batch = await found(console, batch_id)
        return await result_file(console, who, batch, origin(http))

    return api
