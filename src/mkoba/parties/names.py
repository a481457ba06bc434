"""Names shown to someone about to pay (M-Pesa's Hakikisha), masked as M-Pesa does."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """``WANJIKU K****`` from ``Wanjiku Kamau``: the first name whole, the rest initialled.

    Enough for a payer to recognise the person they meant, not enough to
    harvest full names by looking numbers up.
    """
    words = name.upper().split()
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    rest = [word[0] + "*" * (len(word) - 1) for word in words[1:]]
    return " ".join([words[0], *rest])
