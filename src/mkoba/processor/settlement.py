"""What phase two commits, kept with phase one so that a restarted processor can post it.

A request waiting for its response's delivery (``delivery.py``) is posted by
``commit.settle`` with the plan's statement lines, its messages (SMS, callbacks)
and the channels' rows. The processor keeps them in memory, and also stores
them in ``pending_settlements`` in phase one's own commit, as plain JSON of
typed fields: a processor started after a crash reads them back and can still
post the request when its channel acknowledges it before the deadline.

A note holding a secret (a voucher code) is stored with its values sealed, as
the outbox seals such a message (``outbox/sealing.py``, under the transport
key), bound to the request's number and the note's place: never in clear. The
commit that posts or rolls back the request scrubs the stored text.

Anything stored that does not read back as exactly these fields is refused
(``SettlementError``), never guessed at.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from mkoba.ledger import WriteMode
from mkoba.outbox.sealing import open_text, seal_text
from mkoba.parties import SecretKey
from mkoba.processor.plan import Line, Note, Plan, Row

# The stored form's version: a reader refuses any other.
VERSION = 1
# What a channel's row may hold in a column, stored as JSON keeps it.
_SCALARS = (str, int, float, bool, type(None))
_MODES = frozenset(mode.value for mode in WriteMode)


class Settlement(NamedTuple):
    """The part of a plan that commits when its money moves for good."""

    lines: tuple[Line, ...]
    notes: tuple[Note, ...]
    rows: tuple[Row, ...]

    @classmethod
    def of(cls, plan: Plan) -> Settlement:
        """``plan``'s statement lines, messages and channels' rows."""
        return cls(plan.lines, plan.notes, plan.rows)


class SettlementError(ValueError):
    """A stored settlement that cannot be read back (never with a secret in the message)."""


def encode(settlement: Settlement, key: SecretKey, number: int) -> str:
    """The stored form of request ``number``'s settlement: JSON, secret notes sealed."""
    assert number > 0
    body = {
        "version": VERSION,
        "lines": [list(line) for line in settlement.lines],
        "notes": [_note(note, key, number, index) for index, note in enumerate(settlement.notes)],
        "rows": [_row(row) for row in settlement.rows],
    }
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    assert text.startswith("{")
    return text


def decode(text: str, key: SecretKey, number: int) -> Settlement:
    """Request ``number``'s settlement from its stored form; ``SettlementError`` if malformed."""
    try:
        body = json.loads(text)
    except ValueError:
        raise SettlementError(f"request {number}: the stored settlement is not JSON") from None
    fields = _Fields(body, f"request {number}: the stored settlement")
    version = fields.get("version", int)
    if version != VERSION:
        raise SettlementError(f"request {number}: stored settlement version {version} unknown")
    lines = tuple(_line(item, number, index) for index, item in enumerate(fields.items("lines")))
    notes = tuple(
        _read_note(item, key, number, index) for index, item in enumerate(fields.items("notes"))
    )
    rows = tuple(_read_row(item, number, index) for index, item in enumerate(fields.items("rows")))
    fields.done()
    return Settlement(lines, notes, rows)


# -- writing ------------------------------------------------------------------------


def _note(note: Note, key: SecretKey, number: int, index: int) -> dict[str, Any]:
    params = dict(note.params)
    assert all(type(name) is str and type(value) is str for name, value in params.items())
    stored: dict[str, Any] = {
        "recipient": note.recipient,
        "language": note.language,
        "template": note.template,
        "balance_of": note.balance_of,
        "channel": note.channel,
        "secret": note.secret,
    }
    if note.secret:
        clear = json.dumps(params, separators=(",", ":"), ensure_ascii=False)
        stored["sealed"] = seal_text(clear, key, _context(number, index))
    else:
        stored["params"] = params
    return stored


def _row(row: Row) -> dict[str, Any]:
    for value in row.values:
        if type(value) not in _SCALARS:
            raise TypeError(f"a {row.table} row holds a {type(value).__name__}, not storable")
    return {
        "table": row.table,
        "columns": list(row.columns),
        "values": list(row.values),
        "keys": list(row.keys),
        "mode": str(row.mode),
        "receipt": row.receipt,
        "time": row.time,
    }


def _context(number: int, index: int) -> str:
    return f"settlement:{number}:{index}"


# -- reading ------------------------------------------------------------------------


class _Fields:
    """One stored JSON object, read field by field with its type checked."""

    def __init__(self, body: object, what: str) -> None:
        if not isinstance(body, dict):
            raise SettlementError(f"{what} is not an object")
        self.body: dict[str, object] = body
        self.what = what
        self.seen: set[str] = set()

    def get(self, name: str, kind: type[Any]) -> Any:
        """Field ``name``, which must be of ``kind`` exactly (a bool is not an int)."""
        if name not in self.body:
            raise SettlementError(f"{self.what} has no {name}")
        value = self.body[name]
        if type(value) is not kind:
            raise SettlementError(f"{self.what}: {name} is not {kind.__name__}")
        self.seen.add(name)
        return value

    def items(self, name: str) -> list[object]:
        """Field ``name``, a list."""
        value: list[object] = self.get(name, list)
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        """Field ``name``, a list of strings."""
        values = self.items(name)
        if not all(type(value) is str for value in values):
            raise SettlementError(f"{self.what}: {name} holds something other than text")
        return tuple(str(value) for value in values)

    def done(self) -> None:
        """Refuse fields nobody asked for: the form is exactly what ``encode`` writes."""
        extra = sorted(set(self.body) - self.seen)
        if extra:
            raise SettlementError(f"{self.what} has unknown fields {extra}")


def _line(item: object, number: int, index: int) -> Line:
    what = f"request {number}: statement line {index}"
    if not isinstance(item, list) or len(item) != len(Line._fields):
        raise SettlementError(f"{what} is not a list of {len(Line._fields)}")
    party_id, account, description, amount = item
    if not (type(party_id) is int and type(account) is int and type(amount) is int):
        raise SettlementError(f"{what}: party, account and amount must be integers")
    if type(description) is not str:
        raise SettlementError(f"{what}: the description is not text")
    return Line(party_id, account, description, amount)


def _read_note(item: object, key: SecretKey, number: int, index: int) -> Note:
    fields = _Fields(item, f"request {number}: note {index}")
    secret = fields.get("secret", bool)
    if secret:
        try:
            clear = open_text(fields.get("sealed", str), key, _context(number, index))
        except ValueError:
            raise SettlementError(f"request {number}: note {index} does not open") from None
        try:
            sealed_params = json.loads(clear)
        except ValueError:
            raise SettlementError(f"request {number}: note {index}'s values are not JSON") from None
        params = _params(sealed_params, number, index)
    else:
        params = _params(fields.get("params", dict), number, index)
    note = Note(
        recipient=fields.get("recipient", str),
        language=fields.get("language", str),
        template=fields.get("template", str),
        params=params,
        balance_of=fields.get("balance_of", int),
        channel=fields.get("channel", str),
        secret=secret,
    )
    fields.done()
    return note


def _params(params: object, number: int, index: int) -> dict[str, str]:
    if not isinstance(params, dict) or not all(
        type(name) is str and type(value) is str for name, value in params.items()
    ):
        raise SettlementError(f"request {number}: note {index}'s values are not text by name")
    return dict(params)


def _read_row(item: object, number: int, index: int) -> Row:
    what = f"request {number}: channel row {index}"
    fields = _Fields(item, what)
    columns = fields.texts("columns")
    values = tuple(fields.items("values"))
    if len(values) != len(columns):
        raise SettlementError(f"{what}: {len(values)} values for {len(columns)} columns")
    if not all(type(value) in _SCALARS for value in values):
        raise SettlementError(f"{what}: a value is not a scalar")
    mode = fields.get("mode", str)
    if mode not in _MODES:
        raise SettlementError(f"{what}: unknown mode {mode!r}")
    row = Row(
        table=fields.get("table", str),
        columns=columns,
        values=values,
        keys=fields.texts("keys"),
        mode=WriteMode(mode),
        receipt=fields.get("receipt", str),
        time=fields.get("time", str),
    )
    fields.done()
    return row
