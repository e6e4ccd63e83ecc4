"""Comparing prod's replicated data with each lower environment, after rewriting prod for it.

Used by the scheduled drift checker and by ``pipeline-infra drift --live``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline_functions.constants import DEFAULT_REPLICATION_PREFIXES
from pipeline_functions.drift_checker.compare_objects import compare_objects, list_objects
from pipeline_functions.drift_checker.differences import Difference, DriftKind, first_difference
from pipeline_functions.drift_checker.exceptions import DriftCheckError
from pipeline_functions.replicator.items import REPLICA_ATTRIBUTES, to_python
from pipeline_functions.shared.rewrite import DEFAULT_LIMITS, RewriteLimits, Rewriter

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from pipeline_functions.drift_checker.wiring import PathCheck
    from pipeline_functions.shared.targets import ReplicationTarget, TargetClients


@dataclass(frozen=True)
class EnvironmentDrift:
    environment: str
    objects_compared: int
    items_compared: int
    differences: tuple[Difference, ...] = field(default_factory=tuple)
    approved: tuple[Difference, ...] = field(default_factory=tuple)  # verbatim copies the settings allow

    @property
    def count(self) -> int:
        return len(self.differences)


@dataclass(frozen=True)
class DriftReport:
    source_environment: str
    environments: tuple[EnvironmentDrift, ...]
    replication_paths: tuple[PathCheck, ...] = ()  # the rules and Pipe read back by the scheduled check

    @property
    def has_drift(self) -> bool:
        return any(env.differences for env in self.environments)

    @property
    def replication_paths_ok(self) -> bool | None:
        """Every path is wired and switched on; None when no path was checked (never a pass for nothing read)."""
        if not self.replication_paths:
            return None
        return all(check.ok for check in self.replication_paths)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_environment": self.source_environment,
            "has_drift": self.has_drift,
            "replication_paths_ok": self.replication_paths_ok,
            "replication_paths": [check.to_dict() for check in self.replication_paths],
            "environments": [
                {
                    **asdict(env),
                    "count": env.count,
                    "differences": [asdict(d) for d in env.differences],
                    "approved": [asdict(d) for d in env.approved],
                }
                for env in self.environments
            ],
        }


@dataclass(frozen=True)
class EnvironmentStore:
    """Where an environment keeps its replicated data, and clients allowed to read it."""

    environment: str
    bucket: str
    config_table: str
    s3: S3Client
    dynamodb: DynamoDBClient


def compare_environments(
    source: EnvironmentStore,
    targets: Sequence[ReplicationTarget],
    target_clients: Callable[[ReplicationTarget], TargetClients],
    *,
    prefixes: Sequence[str] = DEFAULT_REPLICATION_PREFIXES,
    limits: RewriteLimits = DEFAULT_LIMITS,
    key_attributes: Sequence[str] = ("pk", "sk"),
) -> DriftReport:
    """Compare ``source`` (prod) with every target after rewriting prod for that target.

    Args:
        source: prod's bucket and config table with clients that can read them.
        targets: the lower environments (bucket, table, replacements and overlay), as in REPLICATION_TARGETS.
        target_clients: returns S3 and DynamoDB clients that can read a target (e.g. ``TargetClientCache.get``).
        prefixes: object key prefixes that are replicated (default ``config/`` and ``schemas/``).
        limits: the replicator's own rewrite limits: documents above ``max_bytes`` are refused, up to
            ``in_memory_bytes`` they are compared parsed whole (larger ones streamed), and under a verbatim
            prefix a marked byte copy is an approved difference.
        key_attributes: the config table's key attributes.

    Returns:
        A DriftReport with, per target, every object and item that is missing, extra, different or still
        names a prod identifier, and the approved verbatim copies.

    Raises:
        DriftCheckError: an environment could not be read (the report would otherwise be incomplete).
    """
    source_objects = list_objects(source.s3, source.bucket, prefixes, source.environment)
    source_items = _scan(source.dynamodb, source.config_table, source.environment)
    results = []
    for target in targets:
        clients = target_clients(target)
        rewriter = Rewriter(target.replacements, target.overlay)
        found = list(compare_objects(source, source_objects, target, clients.s3, rewriter, prefixes, limits))
        found += _compare_items(source_items, target, clients.dynamodb, rewriter, key_attributes)
        approved = tuple(d for d in found if d.kind == DriftKind.VERBATIM)
        differences = tuple(d for d in found if d.kind != DriftKind.VERBATIM)
        results.append(
            EnvironmentDrift(target.environment, len(source_objects), len(source_items), differences, approved)
        )
    return DriftReport(source.environment, tuple(results))


def _scan(dynamodb: DynamoDBClient, table: str, environment: str) -> list[dict[str, Any]]:
    try:
        pages = dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        return [
            {k: v for k, v in to_python(item).items() if k not in REPLICA_ATTRIBUTES}
            for page in pages
            for item in page.get("Items", [])
        ]
    except (ClientError, BotoCoreError) as exc:
        raise DriftCheckError(f"cannot scan table {table} in {environment}: {exc}") from exc


def _compare_items(
    source_items: list[dict[str, Any]],
    target: ReplicationTarget,
    dynamodb: DynamoDBClient,
    rewriter: Rewriter,
    key_attributes: Sequence[str],
) -> Iterator[Difference]:
    def key_of(item: dict[str, Any]) -> str:
        return json.dumps({k: item.get(k) for k in key_attributes if k in item}, sort_keys=True, default=str)

    expected = {key_of(item): item for item in (rewriter.item(i) for i in source_items)}
    actual = {key_of(item): item for item in _scan(dynamodb, target.config_table, target.environment)}
    env = target.environment
    for key in sorted(expected):
        if key not in actual:
            yield Difference(env, "item", key, DriftKind.MISSING)
        else:
            detail = first_difference(expected[key], actual[key])
            if detail:
                yield Difference(env, "item", key, DriftKind.DIFFERENT, detail)
    for key in sorted(set(actual) - set(expected)):
        yield Difference(env, "item", key, DriftKind.EXTRA)
    for key, item in sorted(actual.items()):
        named = rewriter.leftovers(item)
        if named:
            yield Difference(env, "item", key, DriftKind.NAMES_PROD, f"names prod identifiers {named}")
