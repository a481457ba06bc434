"""Name normalisation for screening: one canonical form for a person's or a firm's name.

Two spellings of one name should normalise to one string, so that fuzzy scoring
only has to deal with real differences (typos, missing middle names), never with
case, accents, punctuation or titles. The steps, in order:

1. Unicode NFKD, case folding, NFKD again (folding can produce new composites),
   then every non-spacing mark is dropped: "Jérôme" -> "jerome", "Ｋａｍａｕ" -> "kamau".
2. Letters that NFKD keeps whole are spelled in ASCII: "ø" -> "o", "ł" -> "l", "æ" -> "ae".
3. Apostrophes vanish ("N'Diaye" -> "ndiaye", "Ochieng'" -> "ochieng"); every other
   character that is not a letter, a digit or a spacing mark becomes a space
   ("al-Zawahiri" -> "al zawahiri", "MAKENGA, Sultani" -> "makenga sultani").
4. Honorifics and titles are dropped as whole tokens (``HONORIFICS``), unless the
   name is nothing but titles, so that "Dr." alone is still a name.
5. Runs of spaces collapse to one; no leading or trailing space.

Non-Latin scripts are kept as they are (casefolded, marks dropped), not
transliterated: a list that carries Latin aliases is matched through them.
``normalise`` is idempotent: ``normalise(normalise(x)) == normalise(x)``.
"""

from __future__ import annotations

import unicodedata

# Titles a registration form or a list adds to a name; never part of it. Whole tokens
# only, after punctuation is gone ("Hon." -> "hon").
HONORIFICS = frozenset(
    {
        "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "hon", "honourable",
        "honorable", "sir", "dame", "rev", "reverend", "fr", "pastor", "bishop", "eng",
        "sheikh", "shaykh", "mwalimu", "mheshimiwa", "col", "colonel", "gen", "general",
        "maj", "major", "capt", "captain", "lt", "lieutenant", "sgt", "cpl",
    }
)  # fmt: skip

# Letters NFKD leaves whole: their usual ASCII spelling.
_ASCII_FOLD = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i", "ħ": "h"}
)
_APOSTROPHES = frozenset("'\u2019\u2018\u02bc\u02bb`\u00b4")


def _kept(char: str) -> bool:
    """Letters, digits and spacing marks are name characters; the rest separate tokens."""
    category = unicodedata.category(char)
    return category[0] in "LN" or category == "Mc"


def tokens(name: str) -> tuple[str, ...]:
    """The normalised tokens of ``name``, in their written order."""
    text = unicodedata.normalize("NFKD", name)
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(char for char in text if unicodedata.category(char) not in ("Mn", "Me"))
    text = text.translate(_ASCII_FOLD)
    text = "".join("" if char in _APOSTROPHES else (char if _kept(char) else " ") for char in text)
    words = tuple(text.split())
    if any(word not in HONORIFICS for word in words):
        words = tuple(word for word in words if word not in HONORIFICS)
    return words


def normalise(name: str) -> str:
    """The canonical form of ``name``: tokens joined by one space ('' if nothing is left)."""
    result = " ".join(tokens(name))
    assert "  " not in result
    assert result == result.strip()
    return result
