"""A body that does not validate, described field by field, without echoing what was sent.

Pydantic's errors carry the input; FastAPI's default answer echoes it, which would
put a password in a response and a lone surrogate in JSON that cannot be encoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def validation_message(problems: Sequence[Any]) -> str:
    """What is wrong with a body, field by field, without echoing what was sent."""
    lines = []
    for problem in problems:
        if problem.get("type") == "json_invalid":
            where = problem["loc"][-1] if problem["loc"] else 0
            reason = problem.get("ctx", {}).get("error", "invalid JSON")
            lines.append(f"body: not valid JSON ({reason}) at character {where}")
            continue
        where = ".".join(str(part) for part in problem["loc"] if part != "body")
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)
