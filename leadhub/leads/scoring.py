"""Rule-based lead scoring: pure functions over a lead snapshot."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from leadhub.leads.conditions import compare, lead_value


@dataclass(frozen=True)
class ScoringRuleData:
    id: int
    name: str
    field: str
    operator: str
    value: str
    points: int


@dataclass(frozen=True)
class Thresholds:
    sales_ready: int
    nurture_below: int


def score_lead(
    snapshot: Mapping[str, Any], rules: Iterable[ScoringRuleData]
) -> tuple[int, list[dict[str, Any]]]:
    """The total and, for the lead's event, each rule that matched with its points."""
    total = 0
    matched = []
    for rule in rules:
        if compare(lead_value(snapshot, rule.field), rule.operator, rule.value):
            total += rule.points
            matched.append({"rule": rule.id, "name": rule.name, "points": rule.points})
    return total, matched


def score_band(score: int, thresholds: Thresholds) -> str:
    if score >= thresholds.sales_ready:
        return "sales_ready"
    if score < thresholds.nurture_below:
        return "nurture"
    return "standard"
