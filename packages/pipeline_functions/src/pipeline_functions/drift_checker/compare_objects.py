"""Comparing prod's replicated objects with one target's, by content after rewriting, whatever their size.

- JSON/YAML up to the in-memory limit are parsed and compared whole; larger documents and other text
  configuration formats are rewritten and compared as streams, so memory does not grow with the object.
- Binary objects are compared by the source ETag the replica records (the replicator copies them as is).
- A replica under a verbatim prefix marked ``replica-verbatim`` is a byte copy the settings allow: reported
  as approved when it holds prod's current version.
- Every text replica is also scanned for prod identifiers; one found is drift whatever else matches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline_functions.drift_checker.differences import Difference, DriftKind, first_difference
from pipeline_functions.drift_checker.exceptions import DriftCheckError
from pipeline_functions.exceptions import RewriteError, UnparseableDocumentError
from pipeline_functions.replicator.objects import META_ETAG, META_VERBATIM
from pipeline_functions.shared.rewrite import content_format, parse_document
from pipeline_functions.shared.streaming import find_identifiers, first_stream_difference

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from mypy_boto3_s3 import S3Client

    from pipeline_functions.drift_checker.compare import EnvironmentStore
    from pipeline_functions.shared.rewrite import RewriteLimits, Rewriter
    from pipeline_functions.shared.targets import ReplicationTarget

CHUNK = 1024**2


def list_objects(s3: S3Client, bucket: str, prefixes: Sequence[str], environment: str) -> dict[str, dict[str, Any]]:
    objects: dict[str, dict[str, Any]] = {}
    try:
        for prefix in prefixes:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for entry in page.get("Contents", []):
                    objects[entry["Key"]] = {"size": entry["Size"], "etag": entry["ETag"].strip('"')}
    except (ClientError, BotoCoreError) as exc:
        raise DriftCheckError(f"cannot list s3://{bucket} in {environment}: {exc}") from exc
    return objects


def _chunks(s3: S3Client, bucket: str, key: str) -> Iterator[bytes]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def _read(s3: S3Client, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


class _ObjectComparison:
    """Prod's objects against one target's."""

    def __init__(
        self,
        source: EnvironmentStore,
        target: ReplicationTarget,
        s3: S3Client,
        rewriter: Rewriter,
        limits: RewriteLimits,
    ) -> None:
        self.source, self.target, self.s3, self.rewriter, self.limits = source, target, s3, rewriter, limits
        self.identifiers = [original for original, _ in target.replacements]

    def difference(self, key: str, prod: dict[str, Any], replica_etag: str) -> Difference | None:
        env = self.target.environment
        fmt = content_format(key)
        meta = self.s3.head_object(Bucket=self.target.bucket, Key=key).get("Metadata") or {}
        recorded = meta.get(META_ETAG) or replica_etag
        verbatim = meta.get(META_VERBATIM) == "true" and self.limits.verbatim_prefix(key) is not None
        if fmt is None or verbatim:
            if recorded != prod["etag"]:
                return Difference(
                    env,
                    "object",
                    key,
                    DriftKind.DIFFERENT,
                    f"replica records source etag {recorded}, prod has {prod['etag']}",
                )
            if verbatim:
                return Difference(env, "object", key, DriftKind.VERBATIM, "byte copy of prod under a verbatim prefix")
            return None
        if prod["size"] > self.limits.max_bytes:
            refused = f"prod document is {prod['size']} bytes, above the rewrite limit; the replicator refuses it"
            return Difference(env, "object", key, DriftKind.DIFFERENT, refused)
        detail = self._content_difference(key, fmt, prod["size"])
        return Difference(env, "object", key, DriftKind.DIFFERENT, detail) if detail else None

    def _content_difference(self, key: str, fmt: str, size: int) -> str | None:
        bucket, source_bucket = self.target.bucket, self.source.bucket
        try:
            if fmt in ("json", "yaml") and size <= self.limits.in_memory_bytes:
                expected = self.rewriter.checked(
                    self.rewriter.document(parse_document(_read(self.source.s3, source_bucket, key), fmt)), key
                )
                try:
                    actual = parse_document(_read(self.s3, bucket, key), fmt)
                except UnparseableDocumentError as exc:
                    return f"replica is not valid {fmt}: {exc}"
                return first_difference(expected, actual)
            return first_stream_difference(
                _chunks(self.source.s3, source_bucket, key), _chunks(self.s3, bucket, key), fmt, self.rewriter
            )
        except (UnparseableDocumentError, RewriteError) as exc:
            return f"prod document cannot be rewritten ({exc}); the replicator refuses it"

    def names_prod(self, key: str) -> Difference | None:
        fmt = content_format(key)
        if fmt is None or not self.identifiers:
            return None
        found = find_identifiers(_chunks(self.s3, self.target.bucket, key), fmt, self.identifiers)
        if not found:
            return None
        return Difference(
            self.target.environment, "object", key, DriftKind.NAMES_PROD, f"names prod identifiers {found}"
        )


def compare_objects(
    source: EnvironmentStore,
    source_objects: dict[str, dict[str, Any]],
    target: ReplicationTarget,
    s3: S3Client,
    rewriter: Rewriter,
    prefixes: Sequence[str],
    limits: RewriteLimits,
) -> Iterator[Difference]:
    target_objects = list_objects(s3, target.bucket, prefixes, target.environment)
    comparison = _ObjectComparison(source, target, s3, rewriter, limits)
    env = target.environment
    for key, info in sorted(source_objects.items()):
        if key not in target_objects:
            yield Difference(env, "object", key, DriftKind.MISSING)
            continue
        found = comparison.difference(key, info, target_objects[key]["etag"])
        if found is not None:
            yield found
        if found is None or found.kind != DriftKind.VERBATIM:
            named = comparison.names_prod(key)
            if named is not None:
                yield named
    for key in sorted(set(target_objects) - set(source_objects)):
        yield Difference(env, "object", key, DriftKind.EXTRA)
        named = comparison.names_prod(key)
        if named is not None:
            yield named
