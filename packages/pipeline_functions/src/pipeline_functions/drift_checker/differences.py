"""One difference between prod (rewritten for a target) and that target's copy, and how to describe it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class DriftKind(StrEnum):
    MISSING = "missing"  # in prod, not in the target
    EXTRA = "extra"  # in the target, not in prod
    DIFFERENT = "different"  # in both, but the target is not prod rewritten for it
    NAMES_PROD = "names-prod"  # the target's copy still names a prod identifier
    VERBATIM = "verbatim"  # a byte copy of prod under a verbatim prefix: approved, not drift


@dataclass(frozen=True)
class Difference:
    environment: str
    resource_type: str  # "object" or "item"
    identifier: str  # object key, or the item key as JSON
    kind: DriftKind
    detail: str = ""


def first_difference(expected: Any, actual: Any, path: str = "$") -> str | None:
    """A short description of the first place two values differ, or None when equal."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for name in sorted(set(expected) | set(actual), key=str):
            if name not in actual:
                return f"{path}.{name} missing in replica"
            if name not in expected:
                return f"{path}.{name} only in replica"
            found = first_difference(expected[name], actual[name], f"{path}.{name}")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{path} has {len(actual)} elements, expected {len(expected)}"
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            found = first_difference(left, right, f"{path}[{index}]")
            if found:
                return found
        return None
    if expected != actual:
        return f"{path} is {_short(actual)}, expected {_short(expected)}"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
