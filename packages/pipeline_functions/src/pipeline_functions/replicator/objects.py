"""Replicating one prod S3 object to one target, and what the replicator refuses to write.

- Binary content is copied server-side (multipart above the threshold), byte for byte.
- JSON and YAML are rewritten (parsed in memory up to ``rewrite_in_memory_bytes``, streamed above); other text
  configuration formats (``.ini``, ``.properties``, ``.env``, ``.toml``, ``.txt``, ...) get the identifier
  replacements, streamed. Either way no replica may still name a prod identifier.
- A document that cannot be rewritten (not UTF-8, invalid JSON/YAML, above ``rewrite_max_bytes``, or still
  naming prod after rewriting) is refused: nothing is written to the target. Under a ``verbatim_prefixes``
  prefix it is copied byte for byte instead and marked ``replica-verbatim: true``.

The replica's user metadata records the source version (``source-version-id``, ``source-etag``,
``source-last-modified``); a write that would replace a newer source version with an older one is skipped.
Object events are handled concurrently, so the caller reads prod again after writing (``current``): a delete or
overwrite handled while this write was in flight would otherwise leave the older state behind.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline_functions.exceptions import RewriteError, UnparseableDocumentError
from pipeline_functions.replicator.object_writes import ObjectWriter, kept_headers
from pipeline_functions.replicator.results import DELETED, REFUSED, REPLICATED, SKIPPED, SourceObject, TargetResult
from pipeline_functions.shared.rewrite import Rewriter, content_format, dump_document, parse_document
from pipeline_functions.shared.streaming import rewrite_chunks

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_s3 import S3Client

    from pipeline_functions.replicator.settings import ReplicatorSettings
    from pipeline_functions.shared.targets import ReplicationTarget

META_VERSION = "source-version-id"
META_ETAG = "source-etag"
META_LAST_MODIFIED = "source-last-modified"
META_REWRITTEN = "replica-rewritten"
META_VERBATIM = "replica-verbatim"
REPLICA_METADATA = (META_VERSION, META_ETAG, META_LAST_MODIFIED, META_REWRITTEN, META_VERBATIM)
READ_CHUNK = 1024**2
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})


def head(s3: S3Client, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None:
    """HEAD an object; None when it (or the bucket) does not exist or its current version is a delete marker."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    try:
        return dict(s3.head_object(**kwargs))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
            return None
        raise


class ObjectReplicator:
    """Brings the replica of one prod key in line with prod's current state."""

    def __init__(self, settings: ReplicatorSettings, source_s3: S3Client) -> None:
        self._settings = settings
        self._s3 = source_s3
        self._tag_cache: dict[tuple[str, str | None, str], tuple[tuple[str, str], ...]] = {}

    def resolve(self, key: str, alternate_key: str | None = None, etag: str | None = None) -> tuple[str, Any]:
        """Which key the event means and the prod object's current state (None if it no longer exists).

        The verbatim key wins; the URL-decoded one is used only when the verbatim key is absent and the
        decoded key holds exactly the object the event describes (same ETag), so encoded and plain events
        both resolve and an unrelated object is never picked.
        """
        self._tag_cache = {}  # tags can change without a new version: each change reads them afresh
        bucket = self._settings.source_bucket
        found = head(self._s3, bucket, key)
        if found is not None:
            return key, self._source(key, found)
        if alternate_key and etag:
            alternate = head(self._s3, bucket, alternate_key)
            if alternate is not None and str(alternate.get("ETag", "")).strip('"') == etag:
                return alternate_key, self._source(alternate_key, alternate)
        return key, None

    def current(self, key: str) -> SourceObject | None:
        """The prod object's state now: read again after the replicas are written, to catch a change in between."""
        found = head(self._s3, self._settings.source_bucket, key)
        return None if found is None else self._source(key, found)

    def _source(self, key: str, response: dict[str, Any]) -> SourceObject:
        return SourceObject(
            key=key,
            size=int(response.get("ContentLength", 0)),
            etag=str(response.get("ETag", "")).strip('"'),
            version_id=response.get("VersionId"),
            last_modified=response["LastModified"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            content_type=response.get("ContentType") or "binary/octet-stream",
            metadata={k: v for k, v in (response.get("Metadata") or {}).items() if k not in REPLICA_METADATA},
            headers=kept_headers(response),
        )

    def _source_tags(self, source: SourceObject) -> tuple[tuple[str, str], ...]:
        """The source version's tags, read once per change (not per target) and only when a replica is written."""
        cached = self._tag_cache.get((source.key, source.version_id, source.etag))
        if cached is not None:
            return cached
        kwargs: dict[str, Any] = {"Bucket": self._settings.source_bucket, "Key": source.key}
        if source.version_id:
            kwargs["VersionId"] = source.version_id
        tag_set = self._s3.get_object_tagging(**kwargs).get("TagSet", [])
        tags = tuple((tag["Key"], tag["Value"]) for tag in tag_set)
        self._tag_cache[(source.key, source.version_id, source.etag)] = tags
        return tags

    def replicate(
        self,
        key: str,
        source: SourceObject | None,
        target: ReplicationTarget,
        s3: S3Client,
        *,
        force: bool = False,
    ) -> TargetResult:
        """Apply prod's current state of ``key`` to ``target`` using the target's ``s3`` client.

        ``force`` (a resync) rewrites a replica that records the same source version, since its content may
        still be wrong; it never replaces a replica that records a newer source version.
        """
        replica = head(s3, target.bucket, key)
        if source is None:
            return self._delete(key, replica, target, s3)
        if replica is not None:
            meta = replica.get("Metadata") or {}
            same = meta.get(META_ETAG) == source.etag and meta.get(META_VERSION, "") == (source.version_id or "")
            if same and not force:
                return TargetResult(target.environment, SKIPPED, "replica already holds this source version")
            if meta.get(META_LAST_MODIFIED, "") > source.last_modified:
                return TargetResult(
                    target.environment,
                    SKIPPED,
                    f"replica holds a newer source version ({meta[META_LAST_MODIFIED]} > {source.last_modified}); "
                    "writing would go backwards",
                )
        return self._write(source, target, ObjectWriter(s3, target.bucket, self._settings.source_bucket))

    def sync_tags(self, key: str, source: SourceObject | None, target: ReplicationTarget, s3: S3Client) -> TargetResult:
        """A tag change in prod: retag the replica, or replicate the object if the replica is not this version."""
        replica = head(s3, target.bucket, key)
        meta = (replica or {}).get("Metadata") or {}
        if source is None or replica is None or meta.get(META_ETAG) != source.etag:
            return self.replicate(key, source, target, s3)
        rewriter = Rewriter(target.replacements, target.overlay)
        try:
            tags = self._tags(source, rewriter, target)
        except RewriteError as exc:
            return TargetResult(target.environment, REFUSED, str(exc))
        ObjectWriter(s3, target.bucket, self._settings.source_bucket).put_tags(key, tags)
        return TargetResult(target.environment, REPLICATED, f"tags updated ({len(tags)} tags)", 0, rewritten=False)

    def _delete(
        self, key: str, replica: dict[str, Any] | None, target: ReplicationTarget, s3: S3Client
    ) -> TargetResult:
        if not self._settings.propagate_deletes:
            return TargetResult(target.environment, SKIPPED, "prod object is gone; delete propagation is off")
        if replica is None:
            return TargetResult(target.environment, SKIPPED, "prod object is gone and the replica is already absent")
        s3.delete_object(Bucket=target.bucket, Key=key)
        return TargetResult(target.environment, DELETED, "prod object is gone; replica deleted")

    def _write(self, source: SourceObject, target: ReplicationTarget, writer: ObjectWriter) -> TargetResult:
        fmt = content_format(source.key)
        rewriter = Rewriter(target.replacements, target.overlay)
        try:
            tags = self._tags(source, rewriter, target)
        except RewriteError as exc:
            return TargetResult(target.environment, REFUSED, f"{exc}; nothing written")
        if fmt is None:
            self._copy(source, writer, tags, verbatim=False)
            return TargetResult(target.environment, REPLICATED, "copied unchanged", source.size, rewritten=False)
        try:
            if source.size > self._settings.limits.max_bytes:
                raise UnparseableDocumentError(
                    f"{source.size} bytes is above the rewrite limit of {self._settings.limits.max_bytes} bytes"
                )
            written = self._rewrite(source, fmt, rewriter, target, writer, tags)
        except (UnparseableDocumentError, RewriteError) as exc:
            reason = f"not rewritable as {fmt}: {exc}"
            verbatim = self._settings.limits.verbatim_prefix(source.key)
            if verbatim is None:
                return TargetResult(target.environment, REFUSED, f"{reason}; nothing written")
            self._copy(source, writer, self._source_tags(source), verbatim=True)
            return TargetResult(
                target.environment,
                REPLICATED,
                f"copied verbatim ({verbatim!r} is a verbatim prefix): {reason}",
                source.size,
                rewritten=False,
            )
        return TargetResult(target.environment, REPLICATED, f"rewritten {fmt} for {target.environment}", written, True)

    def _tags(self, source: SourceObject, rewriter: Rewriter, target: ReplicationTarget) -> tuple[tuple[str, str], ...]:
        tags = tuple((rewriter.text(k), rewriter.text(v)) for k, v in self._source_tags(source))
        rewriter.checked(dict(tags), f"tags of s3://{target.bucket}/{source.key}")
        return tags

    def _rewrite(
        self,
        source: SourceObject,
        fmt: str,
        rewriter: Rewriter,
        target: ReplicationTarget,
        writer: ObjectWriter,
        tags: tuple[tuple[str, str], ...],
    ) -> int:
        what = f"s3://{target.bucket}/{source.key}"
        metadata = self._metadata(source, rewritten=True)
        if fmt in ("json", "yaml") and source.size <= self._settings.limits.in_memory_bytes:
            document = rewriter.checked(rewriter.document(parse_document(self._read_all(source), fmt)), what)
            payload = dump_document(document, fmt)
            writer.put(source, payload, metadata, tags)
            return len(payload)
        return writer.stream(source, rewrite_chunks(self._chunks(source), fmt, rewriter, what), metadata, tags)

    def _copy(
        self, source: SourceObject, writer: ObjectWriter, tags: tuple[tuple[str, str], ...], *, verbatim: bool
    ) -> None:
        metadata = self._metadata(source, rewritten=False, verbatim=verbatim)
        if source.size > self._settings.multipart_threshold_bytes:
            writer.multipart_copy(source, self._settings.multipart_threshold_bytes, metadata, tags)
        else:
            writer.copy(source, metadata, tags)

    def _get(self, source: SourceObject) -> Any:
        kwargs: dict[str, Any] = {"Bucket": self._settings.source_bucket, "Key": source.key}
        if source.version_id:
            kwargs["VersionId"] = source.version_id
        else:
            kwargs["IfMatch"] = source.etag
        return self._s3.get_object(**kwargs)["Body"]

    def _read_all(self, source: SourceObject) -> bytes:
        return bytes(self._get(source).read())

    def _chunks(self, source: SourceObject) -> Iterator[bytes]:
        body = self._get(source)
        try:
            yield from body.iter_chunks(READ_CHUNK)
        finally:
            body.close()

    @staticmethod
    def _metadata(source: SourceObject, *, rewritten: bool, verbatim: bool = False) -> dict[str, str]:
        metadata = dict(source.metadata)
        metadata.update(
            {
                META_VERSION: source.version_id or "",
                META_ETAG: source.etag,
                META_LAST_MODIFIED: source.last_modified,
                META_REWRITTEN: "true" if rewritten else "false",
            }
        )
        if verbatim:
            metadata[META_VERBATIM] = "true"
        return metadata
