"""`pipeline-infra resync --from prod --to ENV`: bring every config object and item of ENV in line with prod.

Like S3 Batch Replication for existing objects: it compares prod (rewritten for ENV) with ENV using the drift
checker's comparison, then sends the replicator one resync request per difference. The replicator does the
copying, rewriting and recording, so a resynced replica is the same as one replicated live, and a request it
cannot complete is dead-lettered with a `failed` notification, where `pipeline-infra redrive` can replay it.

A resync never makes up a stream position: an item is written keeping the sequence its replica records, on
condition that the replica did not change meanwhile, so a live change always wins and later ones still apply.

The completion report counts what was compared, copied, deleted, left as it was and what failed, with each
failure and its reason. It is checked, not assumed: after the requests the comparison runs again, and every
difference still there is a failure of the resync.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeSerializer

from pipeline_functions.drift_checker.compare import EnvironmentStore, compare_environments
from pipeline_functions.replicator.settings import rewrite_limits
from pipeline_functions.shared.targets import TargetClients, parse_targets
from pipeline_infra_tools.exceptions import DeployError
from pipeline_infra_tools.operations.events import resync_item_event, resync_object_event

if TYPE_CHECKING:
    from pipeline_functions.drift_checker.compare import Difference, EnvironmentDrift
    from pipeline_functions.shared.targets import ReplicationTarget
    from pipeline_infra_tools.sandbox.lambda_runtime.deployment import FunctionSpec
    from pipeline_infra_tools.sandbox.lambda_runtime.functions import Invocation
    from pipeline_infra_tools.sandbox.lambda_runtime.service import LambdaRuntime

_SERIALIZER = TypeSerializer()
_COUNTED = {"replicated": "copied", "deleted": "deleted", "skipped": "unchanged"}


@dataclass
class ResyncReport:
    """What a resync did, as S3 Batch Replication's completion report says it."""

    source: str
    target: str
    objects_compared: int = 0
    items_compared: int = 0
    differences: int = 0
    copied: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    changes: list[dict[str, str]] = field(default_factory=list)
    remaining: int = 0  # differences the comparison still finds after the resync

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ok": self.ok}


@dataclass(frozen=True)
class SourceStack:
    """What resync needs to know about the source environment, from its saved stack outputs."""

    environment: str
    bucket: str
    config_table: str
    account_id: str
    region: str


def _target(spec: FunctionSpec, environment: str) -> ReplicationTarget:
    targets = {t.environment: t for t in parse_targets(json.loads(spec.environment["REPLICATION_TARGETS"]))}
    if environment not in targets:
        raise DeployError(f"{environment!r} is not a replication target of {spec.name}; targets: {sorted(targets)}")
    return targets[environment]


def _request(difference: Difference, source: SourceStack, target: ReplicationTarget) -> dict[str, Any]:
    if difference.resource_type == "object":
        return resync_object_event(
            source.bucket, difference.identifier, target.environment, source.account_id, source.region
        )
    keys = {k: _SERIALIZER.serialize(v) for k, v in json.loads(difference.identifier).items()}
    return resync_item_event(source.config_table, keys, target.environment, source.account_id, source.region)


def _outcome(invocation: Invocation, target: str) -> tuple[str, str]:
    """(outcome, reason) of the one change a resync request asked for, as the replicator reported it."""
    if not invocation.ok:
        return "failed", f"{invocation.error_type}: {invocation.error_message}"
    result = invocation.result if isinstance(invocation.result, dict) else {}
    for letter in result.get("dead_lettered") or []:
        return "failed", f"{letter.get('reason')} (dead-lettered; `pipeline-infra redrive` replays it)"
    for change in result.get("results") or []:
        for outcome in change.get("targets") or []:
            if outcome.get("environment") == target:
                return str(outcome.get("outcome")), str(outcome.get("reason", ""))
    return "failed", f"the replicator reported no outcome for {target}: {json.dumps(result)[:300]}"


def resync(runtime: LambdaRuntime, replicator_name: str, source: SourceStack, target_environment: str) -> ResyncReport:
    runtime.reload()
    spec = runtime.deployment.functions[replicator_name]
    target = _target(spec, target_environment)
    # The administrator reads both sides, each in its own account and region: this is an operator's check, not
    # the replicator's own path.
    admin = runtime.admin
    target_account = target.writer_role_arn.split(":")[4] if target.writer_role_arn else None
    clients = TargetClients(
        s3=admin.client("s3", target_account, target.region),
        dynamodb=admin.client("dynamodb", target_account, target.region),
    )
    store = EnvironmentStore(
        source.environment,
        source.bucket,
        source.config_table,
        admin.for_arn("s3", spec.arn),
        admin.for_arn("dynamodb", spec.arn),
    )
    prefixes = json.loads(spec.environment.get("REPLICATION_PREFIXES", '["config/", "schemas/"]'))

    def compare() -> EnvironmentDrift:
        [found] = compare_environments(
            store, [target], lambda _: clients, prefixes=prefixes, limits=limits
        ).environments
        return found

    # The replicator's own limits, so the comparison reads prod exactly as the replicator rewrites it.
    limits = rewrite_limits(spec.environment)
    environment = compare()
    report = ResyncReport(
        source.environment,
        target_environment,
        environment.objects_compared,
        environment.items_compared,
        len({(d.resource_type, d.identifier) for d in environment.differences}),
    )
    requested: set[tuple[str, str]] = set()
    for difference in environment.differences:
        # An object can differ and also name prod: one request brings it in line for both.
        if (difference.resource_type, difference.identifier) in requested:
            continue
        requested.add((difference.resource_type, difference.identifier))
        invocation = runtime.pool.invoke(spec, _request(difference, source, target))
        outcome, reason = _outcome(invocation, target_environment)
        label = f"{difference.resource_type} {difference.identifier}"
        report.changes.append(
            {"change": label, "difference": str(difference.kind), "outcome": outcome, "reason": reason}
        )
        if outcome in _COUNTED:
            setattr(report, _COUNTED[outcome], getattr(report, _COUNTED[outcome]) + 1)
        else:
            report.failed.append({"change": label, "reason": reason})
    failed = {entry["change"] for entry in report.failed}
    after = compare().differences if environment.differences else ()
    report.remaining = len(after)
    for difference in after:
        label = f"{difference.resource_type} {difference.identifier}"
        if label not in failed:
            detail = difference.detail or str(difference.kind)
            report.failed.append({"change": label, "reason": f"still {difference.kind} after the resync: {detail}"})
    return report
