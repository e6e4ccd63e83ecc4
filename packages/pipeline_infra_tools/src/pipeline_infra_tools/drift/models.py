"""What a drift comparison finds: one `Difference` per place two sides disagree, and the `DriftReport` of a run.

A side is an environment (settings and structure compare each environment with the baseline, the source
environment), or `code` against `deployed` (live drift of one environment), or the source's data against a
replica's (data drift). Every difference carries a status: `approved` (declared in approved_differences.yaml
and, when the declaration has a rule, the rule holds) or `drift`, and the command that repairs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Category(StrEnum):
    SETTINGS = "settings"  # resolved shared_config/ values
    STRUCTURE = "structure"  # rendered resource graphs of two environments
    LIVE = "live"  # deployed stack against its rendering (drift from the code)
    DATA = "data"  # replicated configuration: source data rewritten against a replica
    UNMANAGED = "unmanaged"  # a resource that looks like the project's (tags, names) but no stack records


class Kind(StrEnum):
    VALUE = "value"  # a setting or property differs (or is set on one side only)
    MISSING = "missing"  # the resource (or layer, object, item) exists on the baseline side only
    EXTRA = "extra"  # the resource (or layer, object, item) exists on the compared side only
    TYPE = "type"  # same logical role, different resource type
    UNCHECKED = "unchecked"  # the comparison could not be made (e.g. a stack was never deployed)


class Status(StrEnum):
    APPROVED = "approved"
    DRIFT = "drift"


class FailOn(StrEnum):
    DRIFT = "drift"  # exit 1 when a difference is drift
    ANY = "any"  # exit 1 on any difference, approved ones included
    NEVER = "never"  # always exit 0 once a report is made


@dataclass(frozen=True)
class Approval:
    """The approved_differences.yaml entry a difference matched."""

    pattern: str
    reason: str
    rule: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "reason": self.reason, "rule": self.rule}


@dataclass(frozen=True)
class Difference:
    category: Category
    kind: Kind
    baseline: str
    environment: str
    path: str
    values: dict[str, Any] = field(default_factory=dict)
    absent: tuple[str, ...] = ()
    layer: str | None = None
    resource: str | None = None
    type: str | None = None
    status: Status = Status.DRIFT
    approval: Approval | None = None
    rule_result: str | None = None
    note: str | None = None
    repair: str = ""
    physical: str | None = None  # the cloud's name or id of `resource` (a bucket name, a role name, an ARN)

    @property
    def pair(self) -> str:
        return f"{self.baseline}/{self.environment}"

    @property
    def approved(self) -> bool:
        return self.status is Status.APPROVED

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category.value,
            "kind": self.kind.value,
            "baseline": self.baseline,
            "environment": self.environment,
            "layer": self.layer,
            "resource": self.resource,
            "type": self.type,
            "path": self.path,
            "values": self.values,
            "absent": list(self.absent),
            "status": self.status.value,
            "approval": self.approval.to_json() if self.approval else None,
            "rule_result": self.rule_result,
            "note": self.note,
            "repair": self.repair,
            "physical": self.physical,
        }


@dataclass(frozen=True)
class DriftReport:
    environments: tuple[str, ...]
    baseline: str
    live: bool
    differences: tuple[Difference, ...]
    compared: dict[str, int] = field(default_factory=dict)  # what was looked at, by category

    @property
    def drift(self) -> list[Difference]:
        return [d for d in self.differences if d.status is Status.DRIFT]

    @property
    def approved(self) -> list[Difference]:
        return [d for d in self.differences if d.status is Status.APPROVED]

    @property
    def has_drift(self) -> bool:
        return any(d.status is Status.DRIFT for d in self.differences)

    def repairs(self) -> list[str]:
        """Distinct repair commands of the drift, in first-seen order."""
        seen: dict[str, None] = {}
        for difference in self.drift:
            if difference.repair:
                seen.setdefault(difference.repair, None)
        return list(seen)

    def exit_code(self, fail_on: FailOn) -> int:
        if fail_on is FailOn.NEVER:
            return 0
        if fail_on is FailOn.ANY:
            return 1 if self.differences else 0
        return 1 if self.has_drift else 0
