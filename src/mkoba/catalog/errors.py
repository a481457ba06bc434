"""The one error the catalog raises: a file that is not a valid catalog.

A ``CatalogError`` carries every problem found, each naming the file and the
place in it (``kenya.yaml: versions[1].products.send_money.customer.bands[3]:
overlaps the band before it``), so that an operator can fix a tariff file
without reading a stack trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

Path = tuple[str | int, ...]
"""A place in a catalog file: mapping keys and list indexes, outermost first."""


class Problem(NamedTuple):
    """One thing wrong in a catalog file, at one place."""

    source: str
    path: Path
    message: str

    def __str__(self) -> str:
        place = format_path(self.path)
        return (
            f"{self.source}: {place}: {self.message}" if place else f"{self.source}: {self.message}"
        )


class CatalogError(Exception):
    """A catalog file could not be read or is not valid; ``problems`` says where and why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        assert problems, "a CatalogError names at least one problem"
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    @classmethod
    def single(cls, source: str, message: str, path: Path = ()) -> CatalogError:
        """An error with one problem."""
        return cls([Problem(source, path, message)])


def format_path(path: Path) -> str:
    """``versions[1].products.send_money`` from ``("versions", 1, "products", "send_money")``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text
