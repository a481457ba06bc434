"""Reading Daraja request bodies the way clients really send them.

SDKs disagree about JSON types (daraja.md §2.2, §7): the same field arrives as
a number from one and a string from another, optional fields arrive as
``null``, shortcodes lose their leading zeros, and some keys are spelled two
ways. ``Body`` coerces numbers and strings, treats ``null`` as absent, ignores
unknown keys, and answers ``400.002.02 Bad Request - Invalid <Field>`` for a
value that cannot mean what the field needs.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from mkoba.channels.daraja.envelope import INVALID_PAYLOAD, DarajaError

# A request body larger than this is refused unread (Daraja's bodies are a few hundred bytes).
body_bytes_max = 64 * 1024
# Text fields longer than this are refused (Remarks and Occasion are at most 100 per the docs).
text_length_max = 512
# An amount above this (KES) is not a typo we try to process.
amount_major_max = 10**9
_MSISDN = re.compile(r"^254[17][0-9]{8}$")
_DIGITS = re.compile(r"^[0-9]{1,12}$")
_WHOLE = re.compile(r"^\s*([0-9]+)(?:\.0*)?\s*$")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """JSON text, refusing NaN and Infinity (which Python accepts and Daraja does not)."""
    return json.loads(raw, parse_constant=_reject_constant)


class Body:
    """A JSON object from a client, read leniently."""

    __slots__ = ("_data", "_folded")

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = {key: value for key, value in data.items() if value is not None}
        self._folded = {key.lower(): key for key in self._data}

    @classmethod
    async def read(cls, request: Request) -> Body:
        """The request's JSON object; ``400.002.05`` for anything else."""
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > body_bytes_max):
            raise DarajaError(INVALID_PAYLOAD)
        chunks: list[bytes] = []
        size = 0
        # Read no more than the limit, whatever the client says (chunked bodies say nothing).
        async for chunk in request.stream():
            size += len(chunk)
            if size > body_bytes_max:
                raise DarajaError(INVALID_PAYLOAD)
            chunks.append(chunk)
        return cls.parse(b"".join(chunks))

    @classmethod
    def parse(cls, raw: bytes) -> Body:
        """A body from raw bytes; ``400.002.05`` unless it is one JSON object."""
        if len(raw) > body_bytes_max:
            raise DarajaError(INVALID_PAYLOAD)
        try:
            data = parse_json(raw)
        except (ValueError, RecursionError):
            raise DarajaError(INVALID_PAYLOAD) from None
        if not isinstance(data, dict):
            raise DarajaError(INVALID_PAYLOAD)
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
        if isinstance(value, float):
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
        """A whole amount in major units (KES); ``1``, ``"1"``, ``1.0`` and ``"1.00"`` agree."""
        value = self.raw(name)
        if value is None or isinstance(value, bool):
            raise DarajaError.field(name)
        if isinstance(value, int):
            whole = value
        elif isinstance(value, float):
            if not math.isfinite(value) or not value.is_integer():
                raise DarajaError.field(name)
            whole = int(value)
        elif isinstance(value, str):
            match = _WHOLE.match(value)
            if match is None:
                raise DarajaError.field(name)
            whole = int(match.group(1))
        else:
            raise DarajaError.field(name)
        if not 0 < whole <= amount_major_max:
            raise DarajaError.field(name)
        return whole

    def url(self, *names: str, required: bool = True) -> str:
        """An http(s) URL a result can be POSTed to."""
        text = self.text(*names, required=required, length_max=2048)
        if not text and not required:
            return ""
        try:
            parts = urlsplit(text)
        except ValueError:
            raise DarajaError.field(names[0]) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
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
