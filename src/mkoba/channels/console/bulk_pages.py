"""The back office's bulk disbursement pages: upload a file, follow its payments.

The upload form posts the file as ``multipart/form-data`` (htmx, with the session's
anti-forgery token); the body is bounded by the console's 64 KiB limit and read with
the standard library's MIME parser. A refused file answers with its bad lines, each
with its line number, in the page's alert; a good one opens the batch's page, whose
progress polls (htmx) until every row is paid or failed, and whose result file is a
download. The checker approves the batch's command on the command's own page.
"""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mkoba.channels.console import bulk_routes
from mkoba.channels.console.auth import Caller, Refusal, caller, origin, record
from mkoba.channels.console.bulk import PRODUCT
from mkoba.channels.console.bulk_file import BadFile
from mkoba.channels.console.pages import TEMPLATES, render_page
from mkoba.staff import batches
from mkoba.staff import commands as book
from mkoba.staff.policy import Mode

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

# A form has at most this many parts (shortcode, title, note, file).
parts_max = 8


def form_parts(content_type: str, body: bytes) -> dict[str, bytes]:
    """A ``multipart/form-data`` body's parts by name (the last of each name wins)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise Refusal(415, "Send the form as multipart/form-data.")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise Refusal(422, "The form could not be read.")
    parts: dict[str, bytes] = {}
    payload = message.get_payload()
    assert isinstance(payload, list)
    if len(payload) > parts_max:
        raise Refusal(422, "The form has too many parts.")
    for part in payload:
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(data, bytes):
            parts[name] = data
    return parts


def _text(parts: dict[str, bytes], name: str) -> str:
    try:
        return parts.get(name, b"").decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(422, f"{name}: not UTF-8 text (save the file as CSV UTF-8).") from None


def router(console: ConsoleChannel) -> APIRouter:
    """The bulk disbursement pages over ``console``."""
    pages = APIRouter(prefix="/staff", include_in_schema=False)

    async def signed_in(http: Request) -> Caller | Response:
        try:
            return await caller(console, http)
        except Refusal as refusal:
            if refusal.status == 401:
                return RedirectResponse("/staff/", status_code=303)
            raise

    @pages.get("/bulk")
    async def listing(http: Request) -> Response:
        """The newest batches, and the upload form for those who may start one."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        bulk_routes.may_see(console, who)
        found = await console.read(batches.listing, (), 100)
        shown = [await bulk_routes.batch_out(console, batch) for batch in found]
        await record(console, who, origin(http), "bulk.list", detail={"rows": len(shown)})
        role = who.account.role
        uploads = console.policy.may(role, PRODUCT, Mode.MAKE) or console.policy.may(
            role, PRODUCT, Mode.DO
        )
        return render_page(console, "bulk.html", who, batches=shown, uploads=uploads)

    @pages.post("/ui/bulk")
    async def upload(http: Request) -> Response:
        """Upload a file from the form."""
        who = await caller(console, http, writes=True)
        parts = form_parts(http.headers.get("content-type", ""), await http.body())
        try:
            batch, _ = await console.bulk.upload(
                who,
                _text(parts, "shortcode")[:20],
                _text(parts, "title")[:80],
                _text(parts, "file"),
                _text(parts, "note")[: book.note_chars_max],
                origin(http),
            )
        except BadFile as bad:
            html = TEMPLATES.get_template("_bulk_refused.html").render(
                message=bulk_routes.refused_file(bad.problems), problems=bad.problems
            )
            return HTMLResponse(html, status_code=422)
        return Response(status_code=204, headers={"HX-Redirect": f"/staff/bulk/{batch.id}"})

    @pages.get("/bulk/{batch_id}")
    async def one(batch_id: int, http: Request) -> Response:
        """One batch: its command, its progress, its rows and its result file."""
        who = await signed_in(http)
        if not isinstance(who, Caller):
            return who
        bulk_routes.may_see(console, who)
        batch = await bulk_routes.found(console, batch_id)
        rows = await console.read(batches.rows_of, batch.id)
        detail: dict[str, object] = {"rows": len(rows), "page": "batch"}
        await record(console, who, origin(http), "bulk.view", entity=batch.entity, detail=detail)
        shown = await bulk_routes.batch_out(console, batch)
        return render_page(console, "bulk_batch.html", who, batch=shown, rows=rows)

    @pages.get("/bulk/{batch_id}/progress")
    async def progress(batch_id: int, http: Request) -> Response:
        """The progress fragment the batch's page polls while it is paid."""
        who = await caller(console, http)
        bulk_routes.may_see(console, who)
        batch = await bulk_routes.found(console, batch_id)
        shown = await bulk_routes.batch_out(console, batch)
        return render_page(console, "_bulk_progress.html", who, batch=shown)

    return pages
