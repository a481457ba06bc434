"""The staff policy: the shipped matrix says what the reference says, and bad ones are refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from mkoba.staff.policy import SYSADMIN, Mode, PolicyError, parse, shipped

POLICY = shipped()


def _raw() -> dict[str, Any]:
    from importlib import resources

    text = resources.files("mkoba.staff").joinpath("policy.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def test_eight_roles_one_each() -> None:
    assert set(POLICY.roles) == {
        "care_l1",
        "care_l2",
        "operations",
        "agent_network",
        "compliance",
        "finance",
        "auditor",
        SYSADMIN,
    }


def test_the_system_administrator_moves_no_money() -> None:
    money = [action for action in POLICY.actions.values() if action.moves_money]
    assert {action.name for action in money} >= {"reversal", "float_topup", "manual_journal"}
    for action in money:
        for mode in Mode:
            assert not POLICY.may(SYSADMIN, action.name, mode)


def test_makers_need_a_checker_and_checks_have_limits() -> None:
    # Care L1 starts a reversal, L2 approves it up to its limit, compliance above it.
    assert POLICY.may("care_l1", "reversal", Mode.MAKE)
    assert not POLICY.may("care_l1", "reversal", Mode.CHECK)
    limit = POLICY.actions["reversal"].check_max["care_l2"]
    assert POLICY.may("care_l2", "reversal", Mode.CHECK, limit)
    assert not POLICY.may("care_l2", "reversal", Mode.CHECK, limit + 1)
    assert POLICY.may("compliance", "reversal", Mode.CHECK, limit * 100)
    # Float top-up: operations makes, finance checks, the auditor sees.
    assert POLICY.may("operations", "float_topup", Mode.MAKE)
    assert POLICY.may("finance", "float_topup", Mode.CHECK)
    assert POLICY.may("auditor", "float_topup", Mode.VIEW)
    assert not POLICY.may("auditor", "float_topup", Mode.MAKE)
    for action in POLICY.actions.values():
        if action.checked:
            assert any(Mode.CHECK in modes for modes in action.modes.values()), action.name


def test_doing_includes_seeing_and_nothing_else_is_implied() -> None:
    assert POLICY.may("auditor", "audit_log", Mode.VIEW)
    assert POLICY.may("care_l1", "customer_view", Mode.VIEW)
    assert not POLICY.may("care_l1", "customer_view", Mode.MAKE)
    assert not POLICY.may("care_l1", "customer_unmasked", Mode.VIEW)
    assert not POLICY.may("nobody", "customer_view", Mode.VIEW)
    assert not POLICY.may("care_l1", "no_such_action", Mode.VIEW)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["actions"]["float_topup"].update(sysadmin="make"), "moves no money"),
        (lambda d: d["actions"]["pin_reset"].pop("care_l2"), "nobody may approve it"),
        (lambda d: d["actions"]["alerts"].update(janitor="do"), "janitor: not a role"),
        (lambda d: d["actions"]["alerts"].update(compliance="delete"), "one or more of"),
        (
            lambda d: d["actions"]["reversal"]["check_max"].update(care_l1=5),
            "check_max.care_l1: that role does not check it",
        ),
        (
            lambda d: d["actions"]["reversal"]["check_max"].update(compliance=5),
            "nobody may approve the largest",
        ),
        (lambda d: d["actions"]["audit_log"].pop("what"), "audit_log: what:"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_problem(change: Any, problem: str) -> None:
    data = _raw()
    change(data)
    with pytest.raises(PolicyError, match=problem):
        parse(data, "test.yaml")
