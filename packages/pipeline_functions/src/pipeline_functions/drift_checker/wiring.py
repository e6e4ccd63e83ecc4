"""Is replication wired and switched on? Each rule ENABLED with its targets, the Pipe RUNNING with its target.

A rule switched off, a target removed or a Pipe stopped makes replication stop without an error anywhere: nothing
is delivered, so nothing fails. Every path is read back from EventBridge and Pipes; a read that is denied or
fails is itself a problem of that path, never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline_functions.drift_checker.paths import RULE

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_pipes import EventBridgePipesClient

    from pipeline_functions.drift_checker.paths import ReplicationPath

# EventBridge's states of a rule that delivers (the second only exists on the default bus, for CloudTrail events).
ENABLED_STATES = frozenset({"ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"})
RUNNING = "RUNNING"
RULE_DISABLED = "rule disabled"
PIPE_STOPPED = "pipe stopped"
TARGET_MISSING = "target missing"


@dataclass(frozen=True)
class PathCheck:
    """What was read back for one path and what is wrong with it (nothing when it is wired and switched on)."""

    path: ReplicationPath
    problems: tuple[str, ...]
    observed: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.path.kind,
            "name": self.path.name,
            "arn": self.path.arn,
            "ok": self.ok,
            "problems": list(self.problems),
            "observed": self.observed,
        }


def check_paths(
    paths: Sequence[ReplicationPath], events: EventBridgeClient, pipes: EventBridgePipesClient
) -> tuple[PathCheck, ...]:
    """Read back every path; never raises for an AWS error, which becomes a problem of the path it concerns."""
    return tuple(_check_rule(path, events) if path.kind == RULE else _check_pipe(path, pipes) for path in paths)


def _check_rule(path: ReplicationPath, events: EventBridgeClient) -> PathCheck:
    bus: dict[str, Any] = {"EventBusName": path.event_bus} if path.event_bus else {}
    problems: list[str] = []
    observed: dict[str, Any] = {}
    try:
        state = events.describe_rule(Name=path.name, **bus).get("State", "")
        observed["state"] = state
        if state not in ENABLED_STATES:
            problems.append(RULE_DISABLED)
    except (ClientError, BotoCoreError) as exc:
        problems.append(f"DescribeRule failed: {_error(exc)}")
    try:
        pages = events.get_paginator("list_targets_by_rule").paginate(Rule=path.name, **bus)
        found = [target["Arn"] for page in pages for target in page.get("Targets", [])]
        observed["target_arns"] = found
        problems += _missing(path, found)
    except (ClientError, BotoCoreError) as exc:
        problems.append(f"ListTargetsByRule failed: {_error(exc)}")
    return PathCheck(path, tuple(problems), observed)


def _check_pipe(path: ReplicationPath, pipes: EventBridgePipesClient) -> PathCheck:
    try:
        pipe = pipes.describe_pipe(Name=path.name)
    except (ClientError, BotoCoreError) as exc:
        return PathCheck(path, (f"DescribePipe failed: {_error(exc)}",))
    desired, current = pipe.get("DesiredState", ""), pipe.get("CurrentState", "")
    observed: dict[str, Any] = {"desired_state": desired, "current_state": current, "target_arns": [pipe.get("Target")]}
    problems = [] if desired == current == RUNNING else [PIPE_STOPPED]
    problems += _missing(path, [str(pipe.get("Target", ""))])
    return PathCheck(path, tuple(problems), observed)


def _missing(path: ReplicationPath, found: list[str]) -> list[str]:
    return [f"{TARGET_MISSING}: {arn}" for arn in path.target_arns if arn not in found]


def _error(exc: ClientError | BotoCoreError) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'unknown')}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"
