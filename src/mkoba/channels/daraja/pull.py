"""Pull transactions: a business registers its shortcode, then reads its C2B payments.

The query answers from the processor's receipts: completed pay bill and buy
goods payments to the shortcode between two moments (``YYYY-MM-DD HH:mm:ss``,
East Africa Time), ``OffSetValue`` rows in, at most ``page_rows_max`` a page.
It accepts GET (as the docs say) and POST (as clients send).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import secrets
from typing import Any

from starlette.requests import Request as HttpRequest

from mkoba.channels.daraja import ids
from mkoba.channels.daraja.body import Body
from mkoba.channels.daraja.envelope import PULL_SHORTCODE, DarajaError, Num, major_text
from mkoba.channels.daraja.http import authenticate, channel, endpoint
from mkoba.channels.daraja.registry import Pull
from mkoba.processor import history

page_rows_max = 1000
offset_max = 10**6
# The years a query may name (nanoseconds since 1970 in 64 bits reach 2262).
year_min = 1900
year_max = 2200
_DATE = re.compile(
    r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$"
)
_TYPES = {"pay_bill": "c2b-pay-bill-debit", "buy_goods": "c2b-buy-goods-debit"}


def _ref() -> str:
    return f"{secrets.randbelow(90000) + 10000}-{secrets.randbelow(10**8)}-1"


def parse_date(text: str, name: str) -> int:
    """A pull-query moment (EAT) as ns; ``400.002.02`` when it is not one."""
    match = _DATE.match(text.strip())
    if match is None:
        raise DarajaError.field(name)
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    if not year_min <= year <= year_max:
        # Moments are nanoseconds in 64 bits: years far out cannot be compared in the store.
        raise DarajaError.field(name)
    try:
        when = dt.datetime(year, month, day, hour, minute, second, tzinfo=ids.EAT)
    except ValueError:
        raise DarajaError.field(name) from None
    return int(when.timestamp()) * 1_000_000_000


@endpoint
async def register(request: HttpRequest) -> dict[str, Any]:
    """``POST /pulltransactions/v1/register``."""
    daraja = channel(request)
    app = authenticate(daraja, request, "pull", "pull")
    body = await Body.read(request)
    shortcode = body.digits("ShortCode")
    code = daraja.registry.shortcode_of(app, shortcode)
    if code is None:
        raise DarajaError(PULL_SHORTCODE)
    body.choice("RequestType", ("Pull",), required=False)
    nominated = body.text("NominatedNumber", length_max=20)
    callback = body.url("CallBackURL")
    registry = daraja.registry
    again = shortcode in registry.pulls
    pull = Pull(shortcode, app.id, nominated, callback)
    await daraja.commit([registry.pull_write(pull, daraja.now())])
    registry.set_pull(pull)
    return {
        "ResponseRefID": _ref(),
        "ResponseStatus": "1001" if again else "1000",
        "ShortCode": shortcode,
        "ResponseDescription": "Shortcode already Registered"
        if again
        else "Shortcode Registered Successfully",
    }


async def _body(request: HttpRequest) -> Body:
    headers = request.headers
    sends_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
    if request.method == "GET" and not sends_body:
        return Body(dict(request.query_params))
    return await Body.read(request)


@endpoint
async def query(request: HttpRequest) -> dict[str, Any]:
    """``POST`` (or ``GET``) ``/pulltransactions/v1/query``."""
    daraja = channel(request)
    app = authenticate(daraja, request, "pull", "pull")
    body = await _body(request)
    shortcode = body.digits("ShortCode")
    pull = daraja.registry.pulls.get(shortcode)
    code = daraja.registry.shortcode_of(app, shortcode)
    if pull is None or code is None or pull.app_id != app.id:
        raise DarajaError(PULL_SHORTCODE)
    start = parse_date(body.text("StartDate"), "StartDate")
    end = parse_date(body.text("EndDate"), "EndDate")
    offset = int(body.digits("OffSetValue", "OffsetValue", required=False) or "0")
    if end < start or offset > offset_max:
        raise DarajaError.field("EndDate" if end < start else "OffSetValue")
    rows = await asyncio.to_thread(
        history.payments_to,
        daraja.tables,
        code.party_id,
        ("pay_bill", "buy_goods"),
        start,
        end,
        page_rows_max,
        offset,
    )
    directory = daraja.directory
    business = directory.get(code.party_id)
    items = []
    for row in rows:
        payer = directory.get(row.payer_id)
        when = dt.datetime.fromtimestamp(row.created / 1e9, dt.UTC)
        items.append(
            {
                "transactionId": row.receipt,
                "trxDate": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "msisdn": Num(payer.msisdn) if payer and payer.msisdn else 0,
                "sender": payer.name if payer else "",
                "transactiontype": _TYPES.get(row.product, row.product),
                "billreference": row.reference,
                "amount": major_text(row.amount),
                "organizationname": business.name if business else "",
            }
        )
    return {
        "ResponseRefID": _ref(),
        "ResponseCode": "1000" if items else "1001",
        "ResponseMessage": "Success" if items else "No transactions found",
        "Response": [items],
    }
