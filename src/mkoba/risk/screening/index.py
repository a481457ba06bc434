"""The token index behind screening: which listed tokens are within a typo or two of a word.

Scanning the whole vocabulary of a 20,000-entry list for every word screened costs tens
of milliseconds, so the vocabulary is blocked two ways:

* **One edit** (any position, the first letter too): every token is filed under itself
  and under each string made by deleting one of its letters. Two tokens within one
  substitution, insertion, deletion or swap of neighbours share such a key, so the
  candidates are a few dictionary look-ups, then checked with the real distance.
* **Two edits** (tokens of 8 letters or more, see ``edits_allowed``): the vocabulary is
  bucketed by first letter and length, and only the buckets with the same first letter
  and a length within two are scanned with ``rapidfuzz.process.extract``. A two-edit typo
  that also changes the first letter is not found; a one-edit one always is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA


def edits_allowed(length: int) -> int:
    """Typos tolerated in a token of ``length`` letters: none up to 3, 1 up to 7, then 2."""
    assert length > 0
    if length <= 3:
        return 0
    return 1 if length <= 7 else 2


def _deletions(token: str) -> set[str]:
    """The token and every string made by deleting one of its letters."""
    return {token} | {token[:at] + token[at + 1 :] for at in range(len(token))}


class TokenIndex:
    """Listed tokens, found again by a word within ``edits_allowed`` of them."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        """Index ``vocabulary`` (distinct normalised tokens)."""
        self._tokens = tuple(dict.fromkeys(vocabulary))
        assert all(self._tokens), "an empty token cannot be indexed"
        self._by_deletion: dict[str, list[str]] = defaultdict(list)
        self._by_start: dict[tuple[str, int], list[str]] = defaultdict(list)
        for token in self._tokens:
            for key in _deletions(token):
                self._by_deletion[key].append(token)
            self._by_start[token[0], len(token)].append(token)

    def __len__(self) -> int:
        return len(self._tokens)

    def similar(self, word: str) -> set[str]:
        """Listed tokens within ``edits_allowed`` (of the shorter one's length) of ``word``."""
        assert word
        found: set[str] = set()
        if edits_allowed(len(word)) == 0:
            return {word} if word in self._by_deletion.get(word, ()) else found
        for key in _deletions(word):
            for token in self._by_deletion.get(key, ()):
                limit = edits_allowed(min(len(word), len(token)))
                if token not in found and OSA.distance(word, token, score_cutoff=limit) <= limit:
                    found.add(token)
        if len(word) >= 8:
            found |= self._two_edits(word)
        assert all(OSA.distance(word, token) <= 2 for token in found)
        return found

    def _two_edits(self, word: str) -> set[str]:
        """Tokens two edits from ``word`` that start with its letter and are long enough."""
        bucket = [
            token
            for length in range(len(word) - 2, len(word) + 3)
            for token in self._by_start.get((word[0], length), ())
        ]
        found = set()
        for token, distance, _ in process.extract(
            word, bucket, scorer=OSA.distance, score_cutoff=2, limit=None
        ):
            if distance <= edits_allowed(min(len(word), len(token))):
                found.add(token)
        return found
