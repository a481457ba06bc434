"""What a screening list holds: entries, the list as loaded (with its digest), and its errors."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

# A date of birth as lists give it: a full date, or a year when that is all that is known.
_DATE = re.compile(r"\d{4}(-\d{2}-\d{2})?")


class Kind(enum.Enum):
    """Why a name is on a list: a sanctions designation or a politically exposed person."""

    SANCTION = "sanction"
    PEP = "pep"


class Subject(enum.Enum):
    """Whether a listed name is a person or an organisation (a paybill or till owner)."""

    INDIVIDUAL = "individual"
    ENTITY = "entity"


@dataclass(frozen=True, slots=True)
class Entry:
    """One listed person or organisation.

    Attributes:
        id: the list's own identifier (our CSV's ``id``, the UN list's ``DATAID``).
        name: the primary name, as listed.
        aliases: other names it is known by, as listed (no empty ones).
        kind: sanction or PEP.
        source: which list or programme it comes from (e.g. "UN Al-Qaida").
        dates_of_birth: "YYYY-MM-DD" or "YYYY" each; empty when unknown.
        country: nationality or country, free text; "" when unknown.
        subject: individual or entity.
    """

    id: str
    name: str
    aliases: tuple[str, ...]
    kind: Kind
    source: str
    dates_of_birth: tuple[str, ...] = ()
    country: str = ""
    subject: Subject = Subject.INDIVIDUAL

    def __post_init__(self) -> None:
        assert self.id, "an entry needs an id"
        assert self.name.strip(), "an entry needs a name"
        assert all(alias.strip() for alias in self.aliases)
        assert all(is_date_of_birth(date) for date in self.dates_of_birth)

    @property
    def names(self) -> tuple[str, ...]:
        """The primary name first, then the aliases."""
        return (self.name, *self.aliases)


def is_date_of_birth(text: str) -> bool:
    """True for "YYYY-MM-DD" or "YYYY" (the month and day are checked by the loaders)."""
    return _DATE.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class ScreeningList:
    """A loaded list: its entries and what identifies this exact copy for the audit trail.

    Attributes:
        entries: every entry, in file order.
        source: where it was read from (a file name).
        format: "csv" or "un-xml".
        version: the list's own version (CSV ``# version:`` line, the UN list's
            ``dateGenerated``), or the first 12 digits of the digest when it has none.
        digest: SHA-256 of the file's bytes, hex: which copy was screened against.
    """

    entries: tuple[Entry, ...]
    source: str
    format: str
    version: str
    digest: str

    def __post_init__(self) -> None:
        assert self.entries, "a screening list with no entries screens nothing"
        assert len(self.digest) == 64
        assert len({entry.id for entry in self.entries}) == len(self.entries), "ids repeat"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a list file: where (line, or 0 when unknown) and what."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


# A list is refused whole with at most this many problems quoted (a broken file can have
# thousands; the first few say what is wrong).
problems_quoted_max = 20


class ScreeningListError(ValueError):
    """A list file was refused: nothing of it is used. ``problems`` says where and why."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        assert problems
        self.source = source
        self.problems = tuple(problems)
        shown = "; ".join(str(problem) for problem in problems[:problems_quoted_max])
        more = len(problems) - problems_quoted_max
        suffix = f"; and {more} more" if more > 0 else ""
        super().__init__(f"screening list {source} refused: {shown}{suffix}")
