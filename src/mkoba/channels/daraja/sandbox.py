"""Sandbox conventions: who the sandbox may act for, and how simulated customers answer.

In sandbox mode (``daraja_sandbox``, the default) the channel may act for the
customers listed in ``daraja_sandbox_msisdns`` (patterns; the documented test
MSISDN by default) with the sandbox PIN (``daraja_sandbox_pin``, the demo
customers' PIN): C2B simulate pays from their wallets, and an STK prompt to
them is answered automatically after ``daraja_auto_answer_s``. What the
simulated customer does is ``daraja_auto_answer`` unless a rule on the amount
(KES) says otherwise: ``1032=cancel,1037=unreachable,2001=wrong_pin`` makes an
amount of KES 1032 a cancelled prompt, and so on. The PIN is checked by TranProc
like any other (a wrong one counts), and the ledger decides the rest: a customer
without the money gets ResultCode 1. Outside sandbox mode nobody answers for a
customer but the customer, on their handset.
"""

from __future__ import annotations

import enum
import fnmatch
from typing import NamedTuple


class Action(enum.StrEnum):
    """What a simulated customer does with a prompt."""

    APPROVE = "approve"
    CANCEL = "cancel"
    UNREACHABLE = "unreachable"
    WRONG_PIN = "wrong_pin"
    # Nobody answers: the prompt times out after ``daraja_stk_timeout_s`` (1037).
    IGNORE = "ignore"
    # The sandbox does not answer at all (the customer answers on the handset).
    OFF = "off"


class Rules(NamedTuple):
    """The sandbox's answers: a default and per-amount exceptions."""

    default: Action
    by_amount: dict[int, Action]
    delay_s: float

    def action(self, amount_major: int) -> Action:
        """What the simulated customer does with a prompt for ``amount_major``."""
        return self.by_amount.get(amount_major, self.default)


def parse_rules(default: str, rules: str, delay_s: float) -> Rules:
    """Rules from settings text (``"1032=cancel,1037=unreachable"``); ``ValueError`` if bad."""
    by_amount: dict[int, Action] = {}
    for raw in rules.split(","):
        part = raw.strip()
        if not part:
            continue
        amount, separator, action = part.partition("=")
        if not separator or not amount.strip().isdigit():
            raise ValueError(f"auto-answer rule {part!r}: write AMOUNT=ACTION")
        by_amount[int(amount)] = Action(action.strip())
    return Rules(Action(default), by_amount, delay_s)


class Sandbox(NamedTuple):
    """Whether the channel may act for a customer, and how."""

    enabled: bool
    patterns: tuple[str, ...]
    rules: Rules

    def acts_for(self, msisdn: str) -> bool:
        """Whether the sandbox may act for ``msisdn`` (simulate, auto-answer)."""
        return self.enabled and any(fnmatch.fnmatchcase(msisdn, p) for p in self.patterns)


def wrong_pin(pin: str) -> str:
    """A PIN that is surely not ``pin`` (same length), for the wrong-PIN rule."""
    return "".join(str((int(digit) + 1) % 10) for digit in pin)
