"""Comparing prod's replicated data with each lower environment, after rewriting prod for it.

Used by the scheduled drift checker and by ``pipeline-infra drift --live``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline_functions.constants import DEFAULT_REPLICATION_PREFIXES, DEFAULT_REWRITE_MAX_BYTES
from pipeline_functions.drift_checker.exceptions import DriftCheckError
from pipeline_functions.exceptions import UnparseableDocumentError
from pipeline_functions.replicator.items import REPLICA_ATTRIBUTES, to_python
from pipeline_functions.replicator.objects import META_ETAG
from pipeline_functions.shared.rewrite import Rewriter, document_format, parse_document

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from pipeline_functions.shared.targets import ReplicationTarget, TargetClients


class DriftKind(StrEnum):
    MISSING = "missing"  # in prod, not in the target
    EXTRA = "extra"  # in the target, not in prod
    DIFFERENT = "different"  # in both, but the target is not prod rewritten for it


@dataclass(frozen=True)
class Difference:
    environment: str
    resource_type: str  # "object" or "item"
    identifier: str  # object key, or the item key as JSON
    kind: DriftKind
    detail: str = ""


@dataclass(frozen=True)
class EnvironmentDrift:
    environment: str
    objects_compared: int
    items_compared: int
    differences: tuple[Difference, ...] = field(default_factory=tuple)

    @property
    def count(self) -> int:
        return len(self.differences)


@dataclass(frozen=True)
class DriftReport:
    source_environment: str
    environments: tuple[EnvironmentDrift, ...]

    @property
    def has_drift(self) -> bool:
        return any(env.differences for env in self.environments)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_environment": self.source_environment,
            "has_drift": self.has_drift,
            "environments": [
                {**asdict(env), "count": env.count, "differences": [asdict(d) for d in env.differences]}
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
    rewrite_max_bytes: int = DEFAULT_REWRITE_MAX_BYTES,
    key_attributes: Sequence[str] = ("pk", "sk"),
) -> DriftReport:
    """Compare ``source`` (prod) with every target after rewriting prod for that target.

    Args:
        source: prod's bucket and config table with clients that can read them.
        targets: the lower environments (bucket, table, replacements and overlay), as in REPLICATION_TARGETS.
        target_clients: returns S3 and DynamoDB clients that can read a target (e.g. ``TargetClientCache.get``).
        prefixes: object key prefixes that are replicated (default ``config/`` and ``schemas/``).
        rewrite_max_bytes: JSON/YAML objects up to this size are compared after rewriting; larger ones and
            every other object are compared by the source ETag the replica records.
        key_attributes: the config table's key attributes.

    Returns:
        A DriftReport with, per target, every object and item that is missing, extra or different.

    Raises:
        DriftCheckError: an environment could not be read (the report would otherwise be incomplete).
    """
    source_objects = _list_objects(source.s3, source.bucket, prefixes, source.environment)
    source_items = _scan(source.dynamodb, source.config_table, source.environment)
    results = []
    for target in targets:
        clients = target_clients(target)
        rewriter = Rewriter(target.replacements, target.overlay)
        differences: list[Difference] = []
        differences += _compare_objects(
            source, source_objects, target, clients.s3, rewriter, prefixes=prefixes, rewrite_max_bytes=rewrite_max_bytes
        )
        differences += _compare_items(source_items, target, clients.dynamodb, rewriter, key_attributes)
        results.append(EnvironmentDrift(target.environment, len(source_objects), len(source_items), tuple(differences)))
    return DriftReport(source.environment, tuple(results))


def _list_objects(s3: S3Client, bucket: str, prefixes: Sequence[str], environment: str) -> dict[str, dict[str, Any]]:
    objects: dict[str, dict[str, Any]] = {}
    try:
        for prefix in prefixes:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for entry in page.get("Contents", []):
                    objects[entry["Key"]] = {"size": entry["Size"], "etag": entry["ETag"].strip('"')}
    except (ClientError, BotoCoreError) as exc:
        raise DriftCheckError(f"cannot list s3://{bucket} in {environment}: {exc}") from exc
    return objects


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


def _read(s3: S3Client, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _compare_objects(
    source: EnvironmentStore,
    source_objects: dict[str, dict[str, Any]],
    target: ReplicationTarget,
    s3: S3Client,
    rewriter: Rewriter,
    *,
    prefixes: Sequence[str],
    rewrite_max_bytes: int,
) -> Iterator[Difference]:
    target_objects = _list_objects(s3, target.bucket, prefixes, target.environment)
    env = target.environment
    for key, info in sorted(source_objects.items()):
        if key not in target_objects:
            yield Difference(env, "object", key, DriftKind.MISSING)
            continue
        fmt = document_format(key)
        if fmt is not None and info["size"] <= rewrite_max_bytes:
            detail = _document_difference(
                _read(source.s3, source.bucket, key), _read(s3, target.bucket, key), fmt, rewriter
            )
        else:
            head = s3.head_object(Bucket=target.bucket, Key=key)
            recorded = (head.get("Metadata") or {}).get(META_ETAG) or target_objects[key]["etag"]
            detail = None
            if recorded != info["etag"]:
                detail = f"replica records source etag {recorded}, prod has {info['etag']}"
        if detail:
            yield Difference(env, "object", key, DriftKind.DIFFERENT, detail)
    for key in sorted(set(target_objects) - set(source_objects)):
        yield Difference(env, "object", key, DriftKind.EXTRA)


def _document_difference(prod: bytes, replica: bytes, fmt: str, rewriter: Rewriter) -> str | None:
    try:
        expected = rewriter.document(parse_document(prod, fmt))
    except UnparseableDocumentError:
        # The replicator copies unparseable documents unchanged; so must the comparison.
        return None if prod == replica else "prod document is unparseable and the replica is not a byte copy"
    try:
        actual = parse_document(replica, fmt)
    except UnparseableDocumentError as exc:
        return f"replica is unparseable: {exc}"
    return first_difference(expected, actual)


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
