"""Replicating one prod S3 object to one target: server-side copy, multipart above the threshold,
rewritten JSON/YAML below the rewrite limit, deletes when the prod object is gone.

The replica's user metadata records the source version (``source-version-id``, ``source-etag``,
``source-last-modified``); a write that would replace a newer source version with an older one is skipped.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from pipeline_functions.exceptions import UnparseableDocumentError
from pipeline_functions.replicator.results import DELETED, REPLICATED, SKIPPED, SourceObject, TargetResult
from pipeline_functions.shared.rewrite import Rewriter, document_format, dump_document, parse_document

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, CopySourceTypeDef

    from pipeline_functions.replicator.settings import ReplicatorSettings
    from pipeline_functions.shared.s3events import S3ObjectEvent
    from pipeline_functions.shared.targets import ReplicationTarget

logger = Logger()

META_VERSION = "source-version-id"
META_ETAG = "source-etag"
META_LAST_MODIFIED = "source-last-modified"
META_REWRITTEN = "replica-rewritten"
REPLICA_METADATA = (META_VERSION, META_ETAG, META_LAST_MODIFIED, META_REWRITTEN)
_MIN_PART = 5 * 1024**2
_MAX_PART = 5 * 1024**3
_MAX_PARTS = 10_000
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


def _source(key: str, response: dict[str, Any]) -> SourceObject:
    return SourceObject(
        key=key,
        size=int(response.get("ContentLength", 0)),
        etag=str(response.get("ETag", "")).strip('"'),
        version_id=response.get("VersionId"),
        last_modified=response["LastModified"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        content_type=response.get("ContentType") or "binary/octet-stream",
        metadata={k: v for k, v in (response.get("Metadata") or {}).items() if k not in REPLICA_METADATA},
    )


def part_size(size: int, threshold: int) -> int:
    """Parts as large as the threshold allows, within S3's 5 MiB-5 GiB and 10 000-part limits."""
    needed = -(-size // _MAX_PARTS)
    return min(max(threshold, needed, _MIN_PART), _MAX_PART)


class ObjectReplicator:
    """Brings the replica of one prod key in line with prod's current state."""

    def __init__(self, settings: ReplicatorSettings, source_s3: S3Client) -> None:
        self._settings = settings
        self._s3 = source_s3

    def resolve(self, change: S3ObjectEvent) -> tuple[str, SourceObject | None]:
        """Which key the event means and the prod object's current state (None if it no longer exists).

        The verbatim key wins; the URL-decoded one is used only when the verbatim key is absent and the
        decoded key holds exactly the object the event describes (same ETag), so encoded and plain events
        both resolve and an unrelated object is never picked.
        """
        bucket = self._settings.source_bucket
        found = head(self._s3, bucket, change.key)
        if found is not None:
            return change.key, _source(change.key, found)
        if change.alternate_key and change.etag:
            alternate = head(self._s3, bucket, change.alternate_key)
            if alternate is not None and str(alternate.get("ETag", "")).strip('"') == change.etag:
                return change.alternate_key, _source(change.alternate_key, alternate)
        return change.key, None

    def replicate(self, key: str, source: SourceObject | None, target: ReplicationTarget, s3: S3Client) -> TargetResult:
        """Apply prod's current state of ``key`` to ``target`` using the target's ``s3`` client."""
        replica = head(s3, target.bucket, key)
        if source is None:
            return self._delete(key, replica, target, s3)
        if replica is not None:
            meta = replica.get("Metadata") or {}
            if meta.get(META_ETAG) == source.etag and meta.get(META_VERSION, "") == (source.version_id or ""):
                return TargetResult(target.environment, SKIPPED, "replica already holds this source version")
            if meta.get(META_LAST_MODIFIED, "") > source.last_modified:
                return TargetResult(
                    target.environment,
                    SKIPPED,
                    f"replica holds a newer source version ({meta[META_LAST_MODIFIED]} > {source.last_modified}); "
                    "writing would go backwards",
                )
        fmt = document_format(key)
        if fmt is not None and source.size <= self._settings.rewrite_max_bytes:
            return self._rewrite(key, source, fmt, target, s3)
        if source.size > self._settings.multipart_threshold_bytes:
            self._multipart_copy(source, target, s3, self._metadata(source, rewritten=False))
        else:
            s3.copy_object(
                Bucket=target.bucket,
                Key=key,
                CopySource=self._copy_source(source),
                MetadataDirective="REPLACE",
                ContentType=source.content_type,
                Metadata=self._metadata(source, rewritten=False),
            )
        reason = "copied unchanged"
        if fmt is not None:
            limit = self._settings.rewrite_max_bytes
            reason = f"copied unchanged: {source.size} bytes is above the rewrite limit of {limit}"
            logger.warning("config document too large to rewrite; copied unchanged", extra={"key": key})
        return TargetResult(target.environment, REPLICATED, reason, source.size, rewritten=False)

    def _delete(
        self, key: str, replica: dict[str, Any] | None, target: ReplicationTarget, s3: S3Client
    ) -> TargetResult:
        if not self._settings.propagate_deletes:
            return TargetResult(target.environment, SKIPPED, "prod object is gone; delete propagation is off")
        if replica is None:
            return TargetResult(target.environment, SKIPPED, "prod object is gone and the replica is already absent")
        s3.delete_object(Bucket=target.bucket, Key=key)
        return TargetResult(target.environment, DELETED, "prod object is gone; replica deleted")

    def _rewrite(
        self, key: str, source: SourceObject, fmt: str, target: ReplicationTarget, s3: S3Client
    ) -> TargetResult:
        body = self._read(source)
        rewriter = Rewriter(target.replacements, target.overlay)
        try:
            document = parse_document(body, fmt)
        except UnparseableDocumentError as exc:
            # Copy it anyway so the environments stay identical, and say why it was not rewritten.
            logger.warning("object is not parseable; copied unchanged", extra={"key": key, "reason": str(exc)})
            payload, rewritten, reason = body, False, f"copied unchanged: {exc}"
        else:
            result = rewriter.checked(rewriter.document(document), f"s3://{target.bucket}/{key}")
            payload, rewritten, reason = dump_document(result, fmt), True, f"rewritten {fmt} for {target.environment}"
        s3.put_object(
            Bucket=target.bucket,
            Key=key,
            Body=payload,
            ContentType=source.content_type,
            Metadata=self._metadata(source, rewritten=rewritten),
        )
        return TargetResult(target.environment, REPLICATED, reason, len(payload), rewritten=rewritten)

    def _read(self, source: SourceObject) -> bytes:
        kwargs: dict[str, Any] = {"Bucket": self._settings.source_bucket, "Key": source.key}
        if source.version_id:
            kwargs["VersionId"] = source.version_id
        else:
            kwargs["IfMatch"] = source.etag
        return bytes(self._s3.get_object(**kwargs)["Body"].read())

    def _copy_source(self, source: SourceObject) -> CopySourceTypeDef:
        copy_source: CopySourceTypeDef = {"Bucket": self._settings.source_bucket, "Key": source.key}
        if source.version_id:
            copy_source["VersionId"] = source.version_id  # copy exactly the version that was checked
        return copy_source

    @staticmethod
    def _metadata(source: SourceObject, *, rewritten: bool) -> dict[str, str]:
        metadata = dict(source.metadata)
        metadata.update(
            {
                META_VERSION: source.version_id or "",
                META_ETAG: source.etag,
                META_LAST_MODIFIED: source.last_modified,
                META_REWRITTEN: "true" if rewritten else "false",
            }
        )
        return metadata

    def _multipart_copy(
        self, source: SourceObject, target: ReplicationTarget, s3: S3Client, metadata: dict[str, str]
    ) -> None:
        """UploadPartCopy: S3 moves the bytes, so memory stays flat whatever the object size."""
        upload = s3.create_multipart_upload(
            Bucket=target.bucket, Key=source.key, ContentType=source.content_type, Metadata=metadata
        )
        upload_id = upload["UploadId"]
        step = part_size(source.size, self._settings.multipart_threshold_bytes)
        parts: list[CompletedPartTypeDef] = []
        try:
            for number, start in enumerate(range(0, source.size, step), start=1):
                end = min(start + step, source.size) - 1
                response = s3.upload_part_copy(
                    Bucket=target.bucket,
                    Key=source.key,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource=self._copy_source(source),
                    CopySourceRange=f"bytes={start}-{end}",
                )
                parts.append({"PartNumber": number, "ETag": response["CopyPartResult"]["ETag"]})
            s3.complete_multipart_upload(
                Bucket=target.bucket, Key=source.key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            # Abandoned parts are billed until aborted; the error itself still propagates.
            s3.abort_multipart_upload(Bucket=target.bucket, Key=source.key, UploadId=upload_id)
            raise
