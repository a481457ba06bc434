"""Roles and permissions as data: who may start, approve, do or see each console action.

The policy is ``policy.yaml`` (or a file an operator supplies): eight roles and, per
action, what each role may do with it. Loading checks it whole and refuses, naming
every problem: an unknown role or mode, an action that moves money open to the
system administrator, a limit for a role that cannot check, an action checked by
nobody that someone may only make. ``Policy.may`` answers one cell.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

SYSADMIN = "sysadmin"


class Mode(enum.StrEnum):
    """What a role may do with an action."""

    MAKE = "make"
    CHECK = "check"
    DO = "do"
    VIEW = "view"


class PolicyError(ValueError):
    """A policy file that cannot be used, with every problem found."""


@dataclass(frozen=True)
class Action:
    """One console action: what it is, what each role may do, and the checkers' limits."""

    name: str
    what: str
    moves_money: bool
    modes: Mapping[str, frozenset[Mode]]
    check_max: Mapping[str, int]

    @property
    def checked(self) -> bool:
        """Whether someone must approve it (some role may only make it)."""
        return any(Mode.MAKE in modes for modes in self.modes.values())


@dataclass(frozen=True)
class Policy:
    """The roles, and the actions with their cells."""

    version: int
    roles: Mapping[str, str]
    actions: Mapping[str, Action]

    def may(self, role: str, action: str, mode: Mode, amount: int = 0) -> bool:
        """Whether ``role`` may ``mode`` the ``action`` (a check of ``amount`` minor units).

        Doing an action includes seeing it; nothing else includes anything.
        """
        found = self.actions.get(action)
        if found is None or role not in self.roles:
            return False
        modes = found.modes.get(role, frozenset())
        if mode is Mode.VIEW and Mode.DO in modes:
            return True
        if mode not in modes:
            return False
        limit = found.check_max.get(role)
        return not (mode is Mode.CHECK and limit is not None and amount > limit)

    def sees(self, role: str, action: str) -> bool:
        """Whether ``role`` has any part in ``action`` (and so may see its commands)."""
        found = self.actions.get(action)
        return found is not None and bool(found.modes.get(role))

    def cell(self, role: str, action: str) -> str:
        """The matrix cell as the docs print it: ``make``, ``check``, ``do, check``..."""
        modes = self.actions[action].modes.get(role, frozenset())
        return ", ".join(mode.value for mode in Mode if mode in modes)


def shipped() -> Policy:
    """The policy mkoba ships with."""
    text = resources.files("mkoba.staff").joinpath("policy.yaml").read_text("utf-8")
    return parse(yaml.safe_load(text), "policy.yaml")


def load(path: Path) -> Policy:
    """A policy from a file; ``PolicyError`` naming every problem."""
    return parse(yaml.safe_load(path.read_text("utf-8")), str(path))


def parse(data: Any, where: str) -> Policy:
    """A policy from its parsed YAML; ``PolicyError`` naming every problem."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise PolicyError(f"{where}: a mapping with version, roles and actions")
    roles = data.get("roles")
    actions = data.get("actions")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        problems.append("version: a whole number")
    if not isinstance(roles, dict) or not roles:
        raise PolicyError(f"{where}: roles: a mapping of role to its description")
    if not isinstance(actions, dict) or not actions:
        raise PolicyError(f"{where}: actions: a mapping of action to its cells")
    parsed = {}
    for name, body in actions.items():
        action, found = _action(str(name), body, roles)
        problems.extend(f"actions.{name}: {problem}" for problem in found)
        if action is not None:
            parsed[str(name)] = action
    if problems:
        raise PolicyError(f"{where}: " + "; ".join(problems))
    assert isinstance(version, int)
    return Policy(version, {str(k): str(v) for k, v in roles.items()}, parsed)


def _action(name: str, body: Any, roles: Mapping[str, Any]) -> tuple[Action | None, list[str]]:
    if not isinstance(body, dict):
        return None, ["a mapping of role to modes"]
    problems: list[str] = []
    what = body.get("what")
    if not isinstance(what, str) or not what:
        problems.append("what: a sentence saying what it is")
    moves_money = body.get("moves_money", False) is True
    modes: dict[str, frozenset[Mode]] = {}
    for key, value in body.items():
        if key in ("what", "moves_money", "check_max"):
            continue
        if key not in roles:
            problems.append(f"{key}: not a role")
            continue
        cells = value if isinstance(value, list) else [value]
        try:
            modes[key] = frozenset(Mode(cell) for cell in cells)
        except ValueError:
            problems.append(f"{key}: one or more of make, check, do, view")
    if moves_money and SYSADMIN in modes:
        problems.append("the system administrator moves no money")
    check_max: dict[str, int] = {}
    for role, limit in (body.get("check_max") or {}).items():
        if Mode.CHECK not in modes.get(role, frozenset()):
            problems.append(f"check_max.{role}: that role does not check it")
        elif not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
            problems.append(f"check_max.{role}: an amount in minor units")
        else:
            check_max[role] = limit
    makers = any(Mode.MAKE in cells for cells in modes.values())
    checkers = any(Mode.CHECK in cells for cells in modes.values())
    if makers and not checkers:
        problems.append("someone may start it but nobody may approve it")
    unlimited = [r for r, cells in modes.items() if Mode.CHECK in cells and r not in check_max]
    if check_max and not unlimited:
        problems.append("every checker has a limit: nobody may approve the largest")
    if problems:
        return None, problems
    return Action(name, str(what), moves_money, modes, check_max), []
