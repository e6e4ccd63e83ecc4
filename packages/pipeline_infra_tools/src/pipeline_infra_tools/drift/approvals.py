"""Approved differences: which paths may differ between environments, and whether their rules hold.

Paths are dotted. A settings path is the setting's key path (`functions.validator.memory_mb`); a resource
path is `<type token>.<input path>` (`aws:lambda/function:Function.memorySize`), and the type token alone
stands for the resource's presence. In a pattern, `*` alone matches one whole segment and `*` inside a
segment matches any run of characters. A pattern also approves everything below it, so
`replication.overlay` approves `replication.overlay.logging.level` and a bare type token approves the
presence and every property of that resource type.

A rule is checked over the environments in their declared order (`project.environments`), skipping those
where the value is absent: `non_decreasing` means dev <= staging <= prod. An approved difference whose rule
breaks is drift, and the report says where the order breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.drift.models import Approval, Category, Difference, Kind, Status

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from pipeline_infra.settings import ApprovedDifference

# Marks a value that one side does not have (distinct from a value that is null).
ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "<absent>"})()


def split_path(path: str) -> list[str]:
    return path.split(".") if path else []


@lru_cache(maxsize=1024)
def _segment_regex(segment: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in segment.split("*")) + "$")


def path_matches(pattern: str, path: str) -> bool:
    """True when `pattern` matches `path` or a leading part of it (see the module docstring)."""
    wanted, actual = split_path(pattern), split_path(path)
    if not wanted or len(wanted) > len(actual):
        return False
    return all(w == "*" or _segment_regex(w).match(a) is not None for w, a in zip(wanted, actual, strict=False))


def find_approval(entries: Iterable[ApprovedDifference], path: str) -> ApprovedDifference | None:
    """The most specific entry (most segments) that matches `path`, or None."""
    matching = [entry for entry in entries if path_matches(entry.path, path)]
    return max(matching, key=lambda entry: len(split_path(entry.path)), default=None)


def _comparable(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, complex)


def check_rule(rule: str, ordered: Sequence[tuple[str, Any]]) -> tuple[bool, str]:
    """Whether `rule` holds over (environment, value) pairs in environment order, and a sentence saying so."""
    present = [(env, value) for env, value in ordered if value is not ABSENT]
    chain = " <= " if rule == "non_decreasing" else " >= "
    shown = chain.join(f"{env} {value!r}" for env, value in present)
    if not all(_comparable(value) for _, value in present):
        return False, f"{rule} needs numbers or booleans, got {shown}"
    for (left_env, left), (right_env, right) in pairwise(present):
        broken = left > right if rule == "non_decreasing" else left < right
        if broken:
            sign = ">" if rule == "non_decreasing" else "<"
            return False, f"{rule} broken: {left_env} {left!r} {sign} {right_env} {right!r}"
    return True, f"{rule} holds: {shown}"


@dataclass(frozen=True)
class Verdict:
    status: Status
    approval: Approval | None
    rule_result: str | None


def judge(entries: Iterable[ApprovedDifference], path: str, ordered: Sequence[tuple[str, Any]]) -> Verdict:
    """Approved when an entry matches `path` and its rule (if any) holds over `ordered`; drift otherwise."""
    entry = find_approval(entries, path)
    if entry is None:
        return Verdict(Status.DRIFT, None, None)
    approval = Approval(entry.path, entry.reason, entry.rule)
    if entry.rule is None:
        return Verdict(Status.APPROVED, approval, None)
    holds, sentence = check_rule(entry.rule, ordered)
    return Verdict(Status.APPROVED if holds else Status.DRIFT, approval, sentence)


def _same(left: Any, right: Any) -> bool:
    # bool is an int in Python; True must not equal 1 here.
    return type(left) is type(right) and left == right


@dataclass(frozen=True)
class Scope:
    """Where a set of flattened values comes from, for the differences built out of them."""

    category: Category
    entries: Sequence[ApprovedDifference]
    repair: Callable[[str], str]  # environment -> repair command
    layer: str | None = None
    resource: str | None = None
    type: str | None = None
    pattern_prefix: str = ""  # prepended to each path before matching approvals (the type token)
    note: Callable[[str, Any, Any], str | None] | None = None  # (path, baseline value, value) -> note


def compare_values(
    scope: Scope, envs: Sequence[str], baseline: str, values: Mapping[str, Mapping[str, Any]]
) -> list[Difference]:
    """One difference per (environment, path) whose value is not the baseline's, judged against approvals.

    `values` maps each environment that has the subject to its flattened {path: value}; the rule of an
    approval is checked over every environment in `envs` order, not only the pair.
    """
    if baseline not in values:
        return []
    differences: list[Difference] = []
    paths = sorted({path for flat in values.values() for path in flat})
    for path in paths:
        per_env = [(env, values[env].get(path, ABSENT)) for env in envs if env in values]
        reference = values[baseline].get(path, ABSENT)
        changed = [(env, value) for env, value in per_env if env != baseline and not _same(value, reference)]
        if not changed:
            continue
        full_path = f"{scope.pattern_prefix}.{path}" if scope.pattern_prefix else path
        verdict = judge(scope.entries, full_path, per_env)
        for env, value in changed:
            shown = {side: v for side, v in ((baseline, reference), (env, value)) if v is not ABSENT}
            differences.append(
                Difference(
                    category=scope.category,
                    kind=Kind.VALUE,
                    baseline=baseline,
                    environment=env,
                    path=path,
                    values=shown,
                    absent=tuple(side for side in (baseline, env) if side not in shown),
                    layer=scope.layer,
                    resource=scope.resource,
                    type=scope.type,
                    status=verdict.status,
                    approval=verdict.approval,
                    rule_result=verdict.rule_result,
                    note=scope.note(path, reference, value) if scope.note else None,
                    repair=scope.repair(env),
                )
            )
    return differences
