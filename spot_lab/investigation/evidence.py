"""Evidence rules as data (rules.yaml): a searcher computes numbers, a rule turns them into one
line of the report's Why (item, value, detail, suspicious). A new rule is a few YAML lines."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
        "==": operator.eq}  # fmt: skip


@dataclass(frozen=True)
class Rule:
    name: str
    item: str
    value: str
    detail: str
    when: Any  # "always", "never" or a list of {number: "op threshold"} alternatives
    item_when_not: str = ""
    round: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def suspicious(self, numbers: dict[str, Any]) -> bool:
        if self.when in ("always", "never"):
            return self.when == "always"
        return any(all(_holds(numbers[k], test) for k, test in alt.items()) for alt in self.when)


def _holds(value: Any, test: str) -> bool:
    op, threshold = test.split()
    return _OPS[op](value, float(threshold))


@cache
def _raw() -> dict[str, Any]:
    return yaml.safe_load(resources.files(__package__).joinpath("rules.yaml").read_text())


@cache
def rules() -> dict[str, dict[str, Rule]]:
    return {kind: {name: Rule(name, **spec) for name, spec in group.items()}
            for kind, group in _raw().items() if kind != "detectors"}  # fmt: skip


class Evidence:
    """The evidence of one report, by the rules of its data type."""

    def __init__(self, report) -> None:
        self.report = report
        self.rules = rules()[report.data_type]

    def rules_of(self, group: str) -> dict[str, str]:
        """A plain mapping of rules.yaml (e.g. `detectors`: detector name -> evidence item)."""
        return dict(_raw().get(group, {}))

    def param(self, rule: str, name: str) -> Any:
        return self.rules[rule].params[name]

    def add(self, rule_name: str, **numbers: Any) -> None:
        rule = self.rules[rule_name]
        suspicious = rule.suspicious(numbers)
        value = numbers[rule.value]
        if rule.round is not None and isinstance(value, float) and math.isfinite(value):
            value = round(value, rule.round)
        item = rule.item if suspicious or not rule.item_when_not else rule.item_when_not
        detail = rule.detail.format(anchor=self.report.anchor, **rule.params, **numbers)
        self.report.add_evidence(item, value, detail, suspicious)

    def rate(self, rule_name: str, part: int, total: int) -> None:
        """A rule on a share of the total (part of total)."""
        self.add(rule_name, part=part, total=total, share=part / total if total else 0.0)
