"""Canaries: distinctive secret values, and where to look for them afterwards.

A canary is a secret the test sends (a PIN, a passkey, a credential...) or learns
from its one rightful place (a temporary PIN or a voucher code from its owner's
inbox, a bearer token from the OAuth answer). ``Canaries.hits`` looks for every
canary in every sink: the server's log, each HTTP answer (except the one answer
whose purpose is to hand that very secret to its owner), each callback, the store's
files and the outbox bodies at rest.

Digit-only canaries (PINs, codes) are matched as whole tokens, not inside longer
runs of letters and digits (hex digests, nanosecond times), so that chance cannot
fail the test; every other canary is long and random, and is matched anywhere, in
clear and as its hex and base64 forms.
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass, field


def digits(count: int) -> str:
    """A random PIN or code of ``count`` digits that is not an easy one (no run, no repeat)."""
    while True:
        value = "".join(secrets.choice(string.digits) for _ in range(count))
        steps = {int(b) - int(a) for a, b in itertools.pairwise(value)}
        if len(set(value)) > 2 and steps not in ({1}, {-1}) and not value.startswith("0"):
            return value


def text(prefix: str, length: int = 24) -> str:
    """A random text canary, recognisable in a hit (``prefix``)."""
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class Hit:
    """One canary found in one sink."""

    canary: str
    form: str
    sink: str
    context: str

    def __str__(self) -> str:
        return f"{self.canary} ({self.form}) in {self.sink}: ...{self.context}..."


@dataclass
class Canaries:
    """The secrets of one run, by name."""

    values: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: str) -> str:
        """Remember ``value`` as the canary ``name``; returns it."""
        assert value, name
        assert name not in self.values, name
        self.values[name] = value
        return value

    def patterns(self) -> list[tuple[str, str, re.Pattern[bytes]]]:
        """(canary, form, pattern) for every canary in every form it could leak in."""
        found: list[tuple[str, str, re.Pattern[bytes]]] = []
        for name, value in self.values.items():
            raw = value.encode()
            if value.isdigit():
                whole = rb"(?<![0-9A-Za-z])" + re.escape(raw) + rb"(?![0-9A-Za-z])"
                found.append((name, "clear", re.compile(whole)))
                continue
            found.append((name, "clear", re.compile(re.escape(raw))))
            found.append((name, "hex", re.compile(re.escape(raw.hex().encode()), re.I)))
            encoded = base64.b64encode(raw).rstrip(b"=")
            found.append((name, "base64", re.compile(re.escape(encoded))))
        return found

    def hits(self, sinks: Iterable[Sink]) -> list[Hit]:
        """Every canary found in ``sinks`` (each sink ignores the canaries it may carry)."""
        patterns = self.patterns()
        found = []
        for sink in sinks:
            for name, form, pattern in patterns:
                if name in sink.allowed:
                    continue
                for match in pattern.finditer(sink.data):
                    start, end = match.span()
                    before = sink.data[max(0, start - 60) : start]
                    after = sink.data[end : end + 60]
                    shown = before + f"<{name}>".encode() + after
                    found.append(Hit(name, form, sink.name, shown.decode("utf-8", "replace")))
        return found

    def seen(self, name: str, sinks: Iterable[Sink]) -> bool:
        """Whether canary ``name`` already appears in ``sinks`` (in clear)."""
        one = Canaries({name: self.values[name]})
        return any(hit.form == "clear" for hit in one.hits(sinks))


@dataclass(frozen=True)
class Sink:
    """Something an attacker could read afterwards, and the canaries it rightly carries."""

    name: str
    data: bytes
    allowed: frozenset[str] = frozenset()
