"""`pipeline-infra resync --from prod --to ENV`: bring every config object and item of ENV in line with prod.

Like S3 Batch Replication for existing objects: it compares prod (rewritten for ENV) with ENV using the drift
checker's comparison, then sends the replicator, restricted to ENV, one change per difference in the shape
AWS would deliver it. The replicator does the copying, rewriting and recording, so a resynced replica is the
same as one replicated live.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeSerializer

from pipeline_functions.constants import OBJECT_CREATED, OBJECT_DELETED
from pipeline_functions.drift_checker.compare import DriftKind, EnvironmentStore, compare_environments
from pipeline_functions.replicator.items import SEQUENCE_ATTR
from pipeline_functions.shared.targets import TargetClients, parse_targets
from pipeline_infra_tools.exceptions import DeployError
from pipeline_infra_tools.operations.events import item_event, object_event

if TYPE_CHECKING:
    from pipeline_functions.drift_checker.compare import Difference
    from pipeline_functions.shared.targets import ReplicationTarget
    from pipeline_infra_tools.sandbox.lambda_runtime.deployment import FunctionSpec
    from pipeline_infra_tools.sandbox.lambda_runtime.service import LambdaRuntime

_SERIALIZER = TypeSerializer()


@dataclass
class ResyncReport:
    target: str
    objects_compared: int = 0
    items_compared: int = 0
    repaired: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SourceStack:
    """What resync needs to know about the source environment, from its saved stack outputs."""

    environment: str
    bucket: str
    config_table: str
    stream_arn: str
    pipe_arn: str
    account_id: str
    region: str


def _restricted(spec: FunctionSpec, target: ReplicationTarget) -> FunctionSpec:
    """The replicator configured to write to `target` only."""
    targets = [t for t in json.loads(spec.environment["REPLICATION_TARGETS"]) if t["environment"] == target.environment]
    return dataclasses.replace(spec, environment={**spec.environment, "REPLICATION_TARGETS": json.dumps(targets)})


def _target(spec: FunctionSpec, environment: str) -> ReplicationTarget:
    targets = {t.environment: t for t in parse_targets(json.loads(spec.environment["REPLICATION_TARGETS"]))}
    if environment not in targets:
        raise DeployError(f"{environment!r} is not a replication target of {spec.name}; targets: {sorted(targets)}")
    return targets[environment]


def _replica_sequence(dynamodb: Any, table: str, keys: dict[str, Any]) -> int:
    item = dynamodb.get_item(TableName=table, Key=keys, ConsistentRead=True).get("Item") or {}
    return int(item.get(SEQUENCE_ATTR, {}).get("N", "0"))


def _change_for(
    difference: Difference, source: SourceStack, target: ReplicationTarget, target_dynamodb: Any
) -> dict[str, Any]:
    if difference.resource_type == "object":
        kind = OBJECT_DELETED if difference.kind == DriftKind.EXTRA else OBJECT_CREATED
        return object_event(kind, source.bucket, difference.identifier, source.account_id, source.region)
    keys = {k: _SERIALIZER.serialize(v) for k, v in json.loads(difference.identifier).items()}
    # A repair must win over what the replica holds, so it carries the next sequence after the replica's.
    sequence = _replica_sequence(target_dynamodb, target.config_table, keys) + 1
    name = (
        "REMOVE"
        if difference.kind == DriftKind.EXTRA
        else ("INSERT" if difference.kind == DriftKind.MISSING else "MODIFY")
    )
    return item_event(name, keys, sequence, source.stream_arn, source.pipe_arn, source.account_id, source.region)


def resync(runtime: LambdaRuntime, replicator_name: str, source: SourceStack, target_environment: str) -> ResyncReport:
    runtime.reload()
    spec = runtime.deployment.functions[replicator_name]
    target = _target(spec, target_environment)
    # The administrator reads both sides: this is an operator's repair, not the replicator's own path.
    clients = TargetClients(s3=runtime.s3, dynamodb=runtime.dynamodb)
    store = EnvironmentStore(source.environment, source.bucket, source.config_table, runtime.s3, runtime.dynamodb)
    prefixes = json.loads(spec.environment.get("REPLICATION_PREFIXES", '["config/", "schemas/"]'))
    drift = compare_environments(store, [target], lambda _: clients, prefixes=prefixes)
    [environment] = drift.environments
    report = ResyncReport(target_environment, environment.objects_compared, environment.items_compared)
    restricted = _restricted(spec, target)
    for difference in environment.differences:
        event = _change_for(difference, source, target, runtime.dynamodb)
        invocation = runtime.pool.invoke(restricted, event)
        label = f"{difference.resource_type} {difference.identifier} ({difference.kind})"
        if invocation.ok:
            report.repaired.append(label)
        else:
            report.failed.append({"change": label, "reason": str(invocation.error_message)})
    return report
