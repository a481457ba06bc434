"""Reading Daraja request bodies the way clients really send them.

SDKs disagree about JSON types (daraja.md §2.2, §7): the same field arrives as
a number from one and a string from another, optional fields arrive as
``null``, shortcodes lose their leading zeros, and some keys are spelled two
ways. ``Body`` coerces numbers and strings, treats ``null`` as absent, ignores
unknown keys, and answers ``400.002.02 Bad Request - Invalid <Field>`` for a
value that cannot mean what the field needs.

It is also the one gate every Daraja route's input passes: a body is refused
whole, before any route reads a field, if any string in it (a key, a value,
however deep) is text the platform cannot store (``mkoba.text``); JSON numbers
are kept as written unless they are plain integers of a sane size, so no field
is ever read through a float's rounding or a 5,000-digit ``int()``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request as HttpRequest

from mkoba.channels.daraja.envelope import INVALID_PAYLOAD, DarajaError
from mkoba.text import text_problem

# A request body larger than this is refused unread (Daraja's bodies are a few hundred bytes).
body_bytes_max = 64 * 1024
# Text fields longer than this are refused (Remarks and Occasion are at most 100 per the docs).
text_length_max = 512
# An amount above this (KES) is not a typo we try to process; limits decide below it.
amount_major_max = 10**9
# JSON integers with more digits than this stay text (no field holds more; int() would be slow).
int_digits_max = 32
# A field name quoted in an error is cut to this many characters.
name_length_max = 64
# Fields whose values are secrets: an error about them says what is wrong, never where.
_SECRET_FIELDS = frozenset({"password", "securitycredential", "passkey"})
_MSISDN = re.compile(r"^254[17][0-9]{8}$")
_DIGITS = re.compile(r"^[0-9]{1,12}$")
# A whole amount: digits, optionally with a zero fraction ("1", "1.0", "1.00"; "1." as text).
_WHOLE = re.compile(r"^([0-9]+)(?:\.0*)?$")
# A JSON number whose fraction is zero (1.0): the whole part, for fields that take digits.
_WHOLE_LITERAL = re.compile(r"^(-?[0-9]+)\.0+$")
_CONTENT_LENGTH = re.compile(r"^[0-9]{1,12}$")
_SPACE = re.compile(r"\s")


class Number(str):
    """A JSON number kept as written: a fraction, an exponent, or too many digits for ``int``."""

    __slots__ = ()


def _int(literal: str) -> int | Number:
    return int(literal) if len(literal.lstrip("-")) <= int_digits_max else Number(literal)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(raw: bytes) -> Any:
    """JSON text in UTF-8: NaN and Infinity refused (Python accepts them, Daraja does not),
    numbers other than plain integers kept as ``Number`` (never a float)."""
    text = raw.decode("utf-8-sig")
    return json.loads(text, parse_constant=_reject_constant, parse_int=_int, parse_float=Number)


def _payload(reason: str) -> DarajaError:
    """``400.002.05 Invalid Request Payload``, saying what is wrong with it."""
    return DarajaError(INVALID_PAYLOAD, f"{INVALID_PAYLOAD.message} - {reason}")


def _unreadable(error: Exception) -> DarajaError:
    """Why bytes are not a JSON body, in words that quote nothing the client sent."""
    if isinstance(error, UnicodeDecodeError):
        return _payload(f"the body is not UTF-8 (byte {error.start})")
    if isinstance(error, json.JSONDecodeError):
        if not error.doc.strip():
            return _payload("the body is empty")
        return _payload(f"not valid JSON ({error.msg}) at character {error.pos}")
    if isinstance(error, RecursionError):
        return _payload("the body is nested too deeply")
    return _payload(f"not valid JSON ({error})")


def _field_name(key: str) -> str:
    return key if len(key) <= name_length_max else key[:name_length_max] + "..."


def check_storable(data: dict[str, Any]) -> None:
    """Refuse ``data`` if any key or string in it, however deep, cannot be stored.

    The error names the top-level field (``400.002.02 Bad Request - Invalid
    AccountReference: contains ...``); a key that cannot be stored is a bad payload.
    """
    # The usual body is flat and clean: one look at all its text at once.
    flat = [*data]
    for value in data.values():
        if isinstance(value, str):
            flat.append(value)
        elif isinstance(value, dict | list):
            break
    else:
        if text_problem("".join(flat)) is None:
            return
    for key, value in data.items():
        problem = text_problem(key)
        if problem is not None:
            raise _payload(f"a field name {problem}")
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                problem = text_problem(item)
            elif isinstance(item, dict):
                problem = next(filter(None, map(text_problem, item)), None)
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
                continue
            else:
                continue
            if problem is not None:
                secret = key.lower() in _SECRET_FIELDS
                detail = "contains a character that cannot be stored" if secret else problem
                raise DarajaError.field(_field_name(key), detail)


class Body:
    """A JSON object from a client, read leniently; only text that can be stored."""

    __slots__ = ("_data", "_folded")

    def __init__(self, data: dict[str, Any]) -> None:
        check_storable(data)
        self._data = {key: value for key, value in data.items() if value is not None}
        self._folded = {key.lower(): key for key in self._data}

    @classmethod
    async def read(cls, request: HttpRequest) -> Body:
        """The request's JSON object; ``400.002.05`` for anything else."""
        length = request.headers.get("content-length")
        if length is not None and not _CONTENT_LENGTH.match(length):
            raise _payload("Content-Length is not a number")
        if length is not None and int(length) > body_bytes_max:
            raise _payload(f"the body is larger than {body_bytes_max} bytes")
        chunks: list[bytes] = []
        size = 0
        # Read no more than the limit, whatever the client says (chunked bodies say nothing).
        async for chunk in request.stream():
            size += len(chunk)
            if size > body_bytes_max:
                raise _payload(f"the body is larger than {body_bytes_max} bytes")
            chunks.append(chunk)
        return cls.parse(b"".join(chunks))

    @classmethod
    def parse(cls, raw: bytes) -> Body:
        """A body from raw bytes; ``400.002.05`` unless it is one JSON object."""
        if len(raw) > body_bytes_max:
            raise _payload(f"the body is larger than {body_bytes_max} bytes")
        try:
            data = parse_json(raw)
        except (ValueError, RecursionError) as error:
            raise _unreadable(error) from None
        if not isinstance(data, dict):
            raise _payload("the body must be one JSON object")
        return cls(data)

    def raw(self, *names: str) -> Any:
        """The first of ``names`` present (exactly, else ignoring case), or None."""
        for name in names:
            if name in self._data:
                return self._data[name]
        for name in names:
            key = self._folded.get(name.lower())
            if key is not None:
                return self._data[key]
        return None

    def has(self, *names: str) -> bool:
        """Whether any of ``names`` is present and not null."""
        return self.raw(*names) is not None

    def text(self, *names: str, required: bool = True, length_max: int = text_length_max) -> str:
        """A text field; numbers become their decimal text. ``""`` when optional and absent."""
        value = self.raw(*names)
        if value is None:
            if required:
                raise DarajaError.field(names[0])
            return ""
        if isinstance(value, bool | dict | list):
            raise DarajaError.field(names[0])
        if isinstance(value, Number):
            # 174379.0 is 174379, as the float it was meant to be; other numbers stay as written.
            whole = _WHOLE_LITERAL.match(value)
            value = whole.group(1) if whole else str.__str__(value)
        elif isinstance(value, float):
            if not math.isfinite(value) or not value.is_integer():
                raise DarajaError.field(names[0])
            value = int(value)
        text = str(value).strip()
        if len(text) > length_max:
            raise DarajaError.field(names[0])
        if required and not text:
            raise DarajaError.field(names[0])
        return text

    def digits(self, *names: str, required: bool = True) -> str:
        """A number that names something (a shortcode, a type): digits, leading zeros dropped."""
        text = self.text(*names, required=required)
        if not text and not required:
            return ""
        if not _DIGITS.match(text):
            raise DarajaError.field(names[0])
        return str(int(text))

    def msisdn(self, *names: str) -> str:
        """A Safaricom-style MSISDN, ``254[17]XXXXXXXX``."""
        text = self.text(*names)
        if not _MSISDN.match(text):
            raise DarajaError.field(names[0])
        return text

    def amount(self, name: str = "Amount") -> int:
        """A whole amount in major units (KES), 1 to ``amount_major_max``, read exactly.

        ``1``, ``"1"``, ``1.0`` and ``"1.00"`` agree; a fraction, an exponent (``1e3``),
        a sign, a boolean, NaN or Infinity, zero or too many digits are ``Invalid Amount``.
        """
        value = self.raw(name)
        if isinstance(value, bool):
            raise DarajaError.field(name)
        if isinstance(value, int):
            whole = value
        elif isinstance(value, float):
            # Only a Body built in Python holds a float; JSON numbers arrive as int or Number.
            if not math.isfinite(value) or not value.is_integer() or abs(value) > amount_major_max:
                raise DarajaError.field(name)
            whole = int(value)
        elif isinstance(value, str):
            match = _WHOLE.match(value.strip())
            digits = match.group(1).lstrip("0") if match else ""
            if len(digits) > len(str(amount_major_max)):
                raise DarajaError.field(name)
            whole = int(digits or "0") if match else 0
        else:
            raise DarajaError.field(name)
        if not 0 < whole <= amount_major_max:
            raise DarajaError.field(name)
        return whole

    def url(self, *names: str, required: bool = True) -> str:
        """An http(s) URL a result can be POSTed to: a host that can be looked up, a valid port."""
        text = self.text(*names, required=required, length_max=2048)
        if not text and not required:
            return ""
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
            host = parts.hostname or ""
            host.encode("idna")
        except (ValueError, UnicodeError):
            raise DarajaError.field(names[0]) from None
        if parts.scheme not in ("http", "https") or not host or _SPACE.search(text):
            raise DarajaError.field(names[0])
        return text

    def choice(self, name: str, options: tuple[str, ...], *, required: bool = True) -> str:
        """One of ``options`` exactly; ``""`` when optional and absent."""
        text = self.text(name, required=required)
        if not text and not required:
            return ""
        if text not in options:
            raise DarajaError.field(name)
        return text
