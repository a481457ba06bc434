"""Screen a name against a list: fuzzy, token by token, with dates of birth.

The reasoning behind each number is in docs/risk-screening.md.

How a listed name is found and scored, in three steps:

1. **Blocking.** Every token of every listed name goes into a ``TokenIndex`` with the
   names that hold it. Each token of the screened name is looked up there for listed
   tokens within ``edits_allowed`` (optimal-string-alignment distance: typos and swapped
   letters), so only names that share near-identical tokens are looked at: milliseconds
   against a 20,000-entry list.
2. **Gate.** The shorter of the two names (in tokens) must pair every one of its tokens
   with a distinct token of the longer within ``edits_allowed``. A name of one token
   matches only a one-token name, exactly: "Mohamed" alone is not a person.
3. **Score.** ``fuzz.ratio`` (normalised Indel similarity, 0-100) of the paired tokens,
   each side in the same order: that is ``token_sort_ratio`` with the pairing fixed by
   the gate, so order does not count and a typo costs what it costs. Each token of the
   longer name left unpaired (a missing middle name) costs ``extra_token_penalty``.
   A date of birth that disagrees lowers the score or excludes the entry.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from mkoba.risk.screening.entries import Entry, Kind, ScreeningList, Subject
from mkoba.risk.screening.index import TokenIndex, edits_allowed
from mkoba.risk.screening.names import tokens

# Default score at or above which a name is a match; why 85 is in docs/risk-screening.md.
threshold_default = 85.0
# Score lost per token of the longer name with no partner (one missing middle name: 92;
# two: 84, under the default threshold).
extra_token_penalty = 8.0
# Score lost when the year of birth agrees but the month or day does not.
birth_day_penalty = 10.0
# A screened name longer than this is refused (a registration form's name is far shorter;
# a huge one would only make screening slow).
name_chars_max = 300


@dataclass(frozen=True, slots=True)
class Match:
    """A screened name that matched a listed one: what a compliance alert needs.

    Attributes:
        entry_id: the list's id for the entry.
        listed_name: the name or alias that matched, as the list writes it.
        primary_name: the entry's primary name (equal to listed_name unless an alias hit).
        screened_name: the name screened, as given.
        score: 0-100, one decimal; at or above the screener's threshold.
        kind: sanction or PEP.
        subject: individual or entity.
        source: which list or programme.
        reasons: why it matched and how the score was made, one short sentence each.
        list_version: the version of the list screened against ('' when not known).
    """

    entry_id: str
    listed_name: str
    primary_name: str
    screened_name: str
    score: float
    kind: Kind
    subject: Subject
    source: str
    reasons: tuple[str, ...]
    list_version: str = ""

    def __post_init__(self) -> None:
        assert 0.0 <= self.score <= 100.0
        assert self.reasons

    @property
    def is_alias(self) -> bool:
        """True when an alias matched rather than the primary name."""
        return self.listed_name != self.primary_name

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready fields, for an alert queue row or an audit record."""
        return {
            "entry_id": self.entry_id,
            "listed_name": self.listed_name,
            "primary_name": self.primary_name,
            "screened_name": self.screened_name,
            "is_alias": self.is_alias,
            "score": self.score,
            "kind": self.kind.value,
            "subject": self.subject.value,
            "source": self.source,
            "reasons": list(self.reasons),
            "list_version": self.list_version,
        }


@dataclass(frozen=True, slots=True)
class _Listed:
    """One listed name (primary or alias) in the index."""

    entry: int
    name: str
    tokens: tuple[str, ...]


class Screener:
    """Screens names against a list's entries; build once per list, share freely (read-only)."""

    def __init__(
        self,
        entries: Iterable[Entry],
        threshold: float = threshold_default,
        *,
        birth_year_mismatch_excludes: bool = True,
        list_version: str = "",
    ) -> None:
        """Index ``entries``; ``threshold`` is the lowest score (0-100) that is a match."""
        assert 0.0 < threshold <= 100.0, "a threshold is a score in (0, 100]"
        self.entries = tuple(entries)
        assert self.entries, "nothing to screen against"
        self.threshold = threshold
        self.birth_year_mismatch_excludes = birth_year_mismatch_excludes
        self.list_version = list_version
        self._names: list[_Listed] = []
        postings: dict[str, list[int]] = defaultdict(list)
        for index, entry in enumerate(self.entries):
            for name in dict.fromkeys(entry.names):
                words = tokens(name)
                if not words:
                    continue
                for word in set(words):
                    postings[word].append(len(self._names))
                self._names.append(_Listed(index, name, words))
        self._index = TokenIndex(postings)
        self._postings = dict(postings)

    @classmethod
    def from_list(
        cls, screening_list: ScreeningList, threshold: float = threshold_default
    ) -> Screener:
        """A screener for a loaded list, its matches stamped with the list's version."""
        return cls(screening_list.entries, threshold, list_version=screening_list.version)

    def screen(self, name: str, date_of_birth: dt.date | str | None = None) -> list[Match]:
        """Every entry ``name`` matches, best first (one match per entry, its best name).

        ``date_of_birth`` ("YYYY-MM-DD" or a date) narrows individuals: see ``_birth``.
        A name that normalises to nothing (only punctuation), or one over ``name_chars_max``
        characters, raises ValueError: the caller must not treat it as screened clean.
        """
        if len(name) > name_chars_max:
            raise ValueError(f"a name over {name_chars_max} characters cannot be screened")
        words = tokens(name)
        if not words:
            raise ValueError("a name with no letters cannot be screened")
        birth = _birth_date(date_of_birth)
        best: dict[int, Match] = {}
        for listed in self._candidates(words):
            match = self._score(name, words, listed, birth)
            if match is None or match.score < self.threshold:
                continue
            kept = best.get(listed.entry)
            if kept is None or match.score > kept.score:
                best[listed.entry] = match
        found = sorted(best.values(), key=lambda match: (-match.score, match.entry_id))
        assert all(match.score >= self.threshold for match in found)
        return found

    def _candidates(self, words: tuple[str, ...]) -> list[_Listed]:
        """Listed names sharing enough near-identical tokens with ``words`` to be gated."""
        hits: dict[int, set[str]] = defaultdict(set)
        for word in set(words):
            for token in self._index.similar(word):
                for listed in self._postings[token]:
                    hits[listed].add(word)
        return [
            self._names[listed]
            for listed, shared in hits.items()
            if len(shared) >= min(len(set(words)), len(set(self._names[listed].tokens)))
        ]

    def _score(
        self, name: str, words: tuple[str, ...], listed: _Listed, birth: dt.date | None
    ) -> Match | None:
        """The match of ``words`` with one listed name, or None when the gate refuses it."""
        query_shorter = len(words) <= len(listed.tokens)
        shorter, longer = (words, listed.tokens) if query_shorter else (listed.tokens, words)
        if len(shorter) == 1 and (len(longer) != 1 or shorter != longer):
            return None
        pairs = _pair(shorter, longer)
        if pairs is None:
            return None
        left = " ".join(token for token, _ in pairs)
        right = " ".join(partner for _, partner in pairs)
        extra = len(longer) - len(shorter)
        score = fuzz.ratio(left, right) - extra_token_penalty * extra
        reasons = [_name_reason(words, listed.tokens, pairs)]
        if extra:
            side = "listed name" if query_shorter else "screened name"
            reasons.append(
                f"{extra} token(s) of the {side} unmatched (-{extra_token_penalty:g} each)"
            )
        entry = self.entries[listed.entry]
        if listed.name != entry.name:
            reasons.append(f"matched the alias {listed.name!r}")
        adjusted = _birth(entry, birth, self.birth_year_mismatch_excludes)
        if adjusted is None:
            return None
        penalty, reason = adjusted
        reasons.append(reason)
        score = max(0.0, min(100.0, score - penalty))
        return Match(
            entry.id,
            listed.name,
            entry.name,
            name,
            round(score, 1),
            entry.kind,
            entry.subject,
            entry.source,
            tuple(reasons),
            self.list_version,
        )


def _pair(shorter: tuple[str, ...], longer: tuple[str, ...]) -> list[tuple[str, str]] | None:
    """Each token of ``shorter`` with a distinct near-identical token of ``longer``, or None.

    Greedy by distance, closest pairs first (exact tokens pair before typos): names have a
    handful of tokens, and a near-tie between two pairings scores the same either way.
    """
    options = sorted(
        (OSA.distance(short, long), i, j)
        for i, short in enumerate(shorter)
        for j, long in enumerate(longer)
    )
    paired: dict[int, int] = {}
    used: set[int] = set()
    for distance, i, j in options:
        if i in paired or j in used:
            continue
        if distance > edits_allowed(min(len(shorter[i]), len(longer[j]))):
            continue
        paired[i] = j
        used.add(j)
    if len(paired) != len(shorter):
        return None
    # Sorted by the shorter side's tokens, so both strings are in one order (token sort).
    return sorted((shorter[i], longer[j]) for i, j in paired.items())


def _name_reason(
    words: tuple[str, ...], listed: tuple[str, ...], pairs: list[tuple[str, str]]
) -> str:
    """One sentence on how the names compare."""
    typos = sum(OSA.distance(a, b) for a, b in pairs)
    if words == listed:
        return "same name once normalised"
    if typos == 0 and sorted(words) == sorted(listed):
        return "same tokens in another order"
    if typos == 0:
        return "every token of the shorter name is in the longer"
    return f"{typos} letter edit(s) between paired tokens"


def _birth_date(value: dt.date | str | None) -> dt.date | None:
    """A screened date of birth as a date; a string must be "YYYY-MM-DD"."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError("date_of_birth must be YYYY-MM-DD") from None


def _birth(entry: Entry, birth: dt.date | None, year_excludes: bool) -> tuple[float, str] | None:
    """Score penalty and reason from the dates of birth, or None when they exclude the entry.

    Agreement (a listed full date equal, or a listed year equal) costs nothing. A listed
    full date in the same year with another month or day costs ``birth_day_penalty``
    (day and month are the usual transcription slips). Every listed date in another year
    excludes the entry, unless the screener was told otherwise, then it costs 20.
    """
    if entry.subject is Subject.ENTITY:
        return 0.0, "an entity: no date of birth"
    if birth is None:
        return 0.0, "no date of birth screened"
    if not entry.dates_of_birth:
        return 0.0, "no date of birth listed"
    year = str(birth.year)
    if birth.isoformat() in entry.dates_of_birth or year in entry.dates_of_birth:
        return 0.0, "date of birth agrees"
    if any(date[:4] == year for date in entry.dates_of_birth):
        return birth_day_penalty, f"same year of birth, another day (-{birth_day_penalty:g})"
    if year_excludes:
        return None
    return 20.0, "listed year of birth differs (-20)"
