"""The confusion matrix: each case caught or missed, each normal payment flagged or not.

A case is **caught** when one of its requests was held, stepped up or refused, or an
alert of its expected rule concerns it (names one of its customers, or one of its
requests or receipts); a case one of whose requests failed for a reason of its own
(funds, limits) is **broken**: it did not happen as planned. A normal payment is
**flagged** when it was held, stepped up or refused; the rules whose alerts name its
request are the ones that flagged it. An alert that concerns no case and no stopped
payment but a normal customer or request is a **normal alert** (compliance's work,
not the customer's trouble), counted apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mkoba.catalog.risk_schema import TYPOLOGIES as RULE_NAMES
from mkoba.codes import Code
from mkoba.risk.alert_schema import Alert
from mkoba.simulate.driver import FLAGGED, Driver
from mkoba.simulate.typologies import Case

targets = {"caught_ratio": 0.95, "false_positive_ratio": 0.005}


@dataclass
class RuleRow:
    """One rule's line of the matrix."""

    rule: str
    typology: str
    injected: int = 0
    caught: int = 0
    fired: int = 0  # cases on which this rule itself fired (an alert of it)
    # Cases a request of which failed for another reason (funds, limits): not as planned.
    broken: int = 0
    normal_flagged: int = 0
    normal_alerts: int = 0

    @property
    def missed(self) -> int:
        """Injected cases not caught."""
        return self.injected - self.caught

    def recall(self) -> float | None:
        """Caught over injected."""
        return self.caught / self.injected if self.injected else None

    def precision(self) -> float | None:
        """Caught over everything this rule flagged or alerted on (cases and normal)."""
        flagged = self.caught + self.normal_flagged + self.normal_alerts
        return self.caught / flagged if flagged else None

    def as_json(self) -> dict[str, Any]:
        """The row as ``--json`` prints it."""
        return {
            "rule": self.rule,
            "typology": self.typology,
            "injected": self.injected,
            "caught": self.caught,
            "missed": self.missed,
            "fired": self.fired,
            "broken": self.broken,
            "normal_flagged": self.normal_flagged,
            "normal_alerts": self.normal_alerts,
            "precision": _round(self.precision()),
            "recall": _round(self.recall()),
        }


@dataclass
class Matrix:
    """Every rule's row and the totals."""

    rows: dict[str, RuleRow] = field(default_factory=dict)
    normal_payments: int = 0
    normal_flagged: int = 0
    normal_alerts: int = 0
    injected: int = 0
    caught: int = 0

    def caught_ratio(self) -> float | None:
        """Cases caught over cases injected."""
        return self.caught / self.injected if self.injected else None

    def false_positive_ratio(self) -> float | None:
        """Normal payments held, stepped up or refused over normal payments."""
        return self.normal_flagged / self.normal_payments if self.normal_payments else None

    def overall(self) -> dict[str, Any]:
        """The totals as ``--json`` prints them."""
        caught, false = self.caught_ratio(), self.false_positive_ratio()
        return {
            "injected": self.injected,
            "caught": self.caught,
            "missed": self.injected - self.caught,
            "caught_ratio": _round(caught),
            "normal_payments": self.normal_payments,
            "normal_flagged": self.normal_flagged,
            "false_positive_ratio": _round(false),
            "normal_alerts": self.normal_alerts,
            "targets": targets,
            "targets_met": (caught is None or caught >= targets["caught_ratio"])
            and (false is None or false <= targets["false_positive_ratio"]),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _quoted(text: str) -> str:
    return json.dumps(text)


def _failed(code: Code) -> bool:
    """Refused for a reason of its own: neither done nor stopped by a rule."""
    return not code.ok and code not in FLAGGED


def _row(matrix: Matrix, rule: str, typology: str = "") -> RuleRow:
    row = matrix.rows.get(rule)
    if row is None:
        row = matrix.rows[rule] = RuleRow(rule, typology or RULE_NAMES.get(rule, ("", ""))[0])
    return row


def score(
    driver: Driver, cases: list[Case], alerts: list[Alert], normal_parties: set[int]
) -> Matrix:
    """The matrix of a run: its requests, its cases and the alerts raised."""
    matrix = Matrix()
    directory = driver.platform.services.directory
    texts = {alert.id: json.dumps(alert.details, sort_keys=True) for alert in alerts}
    matched: set[int] = set()
    for case in cases:
        row = _row(matrix, case.rule, case.typology)
        row.injected += 1
        matrix.injected += 1
        parties = {p.id for m in case.msisdns if (p := directory.by_msisdn(m)) is not None}
        # Quoted, as the details' JSON holds them: "sim:case:12" is not in "sim:case:123".
        marks = {_quoted(r) for r in case.requests}
        marks |= {_quoted(driver.receipt(r)) for r in case.requests if driver.receipt(r)}
        concerning = [
            alert
            for alert in alerts
            if alert.party_id in parties or any(mark in texts[alert.id] for mark in marks)
        ]
        matched.update(alert.id for alert in concerning)
        fired = any(alert.rule == case.rule for alert in concerning)
        stopped = any(driver.code(r) in FLAGGED for r in case.requests)
        row.fired += fired
        row.broken += any(_failed(driver.code(r)) for r in case.requests)
        if fired or stopped:
            row.caught += 1
            matrix.caught += 1
    by_request: dict[str, list[Alert]] = {}
    for alert in alerts:
        request_id = alert.details.get("request_id")
        if isinstance(request_id, str):
            by_request.setdefault(request_id, []).append(alert)
    normal = {rid for rid, asked in driver.asked.items() if asked.kind == "normal"}
    for request_id in normal:
        matrix.normal_payments += 1
        if driver.code(request_id) in FLAGGED:
            matrix.normal_flagged += 1
            for alert in by_request.get(request_id, []):
                matched.add(alert.id)
                _row(matrix, alert.rule).normal_flagged += 1
    receipts = {_quoted(driver.receipt(rid)) for rid in normal if driver.receipt(rid)}
    for alert in alerts:
        if alert.id in matched:
            continue
        text = texts[alert.id]
        if (
            alert.party_id in normal_parties
            or alert.details.get("request_id") in normal
            or any(receipt in text for receipt in receipts)
        ):
            matrix.normal_alerts += 1
            _row(matrix, alert.rule).normal_alerts += 1
    matrix.rows = dict(sorted(matrix.rows.items(), key=lambda item: int(item[0][1:])))
    return matrix
