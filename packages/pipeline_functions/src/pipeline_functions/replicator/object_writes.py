"""Writing one replica object: server-side copy, multipart copy, a rewritten body, or a rewritten stream.

Every write carries what S3 Replication keeps: Content-Type, Content-Encoding, Content-Disposition,
Content-Language, Cache-Control, Expires, user metadata and tags, plus the replicator's bookkeeping metadata.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, CopySourceTypeDef

    from pipeline_functions.replicator.results import SourceObject

# HEAD response field -> the same field as a PutObject/CopyObject/CreateMultipartUpload parameter.
KEPT_HEADERS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl", "Expires")
MIN_PART = 5 * 1024**2
MAX_PART = 5 * 1024**3
MAX_PARTS = 10_000
# Parts of a streamed rewrite: large enough for few requests, small enough that memory stays flat.
STREAM_PART = 8 * 1024**2


def kept_headers(head: dict[str, Any]) -> dict[str, Any]:
    """The headers of a HEAD response a replica must keep, as write parameters."""
    headers = {name: head[name] for name in KEPT_HEADERS if head.get(name)}
    headers.setdefault("ContentType", "binary/octet-stream")
    return headers


def tagging(tags: Iterable[tuple[str, str]]) -> str:
    return urlencode(list(tags))


def part_size(size: int, threshold: int) -> int:
    """Parts as large as the threshold allows, within S3's 5 MiB-5 GiB and 10 000-part limits."""
    needed = -(-size // MAX_PARTS)
    return min(max(threshold, needed, MIN_PART), MAX_PART)


class ObjectWriter:
    """Writes replicas into one target bucket with that target's client."""

    def __init__(self, s3: S3Client, bucket: str, source_bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._source_bucket = source_bucket

    def _attributes(self, source: SourceObject, metadata: dict[str, str], tags: tuple[tuple[str, str], ...]) -> Any:
        attributes = {**source.headers, "Metadata": metadata}
        if tags:
            attributes["Tagging"] = tagging(tags)
        return attributes

    def copy_source(self, source: SourceObject) -> CopySourceTypeDef:
        copy_source: CopySourceTypeDef = {"Bucket": self._source_bucket, "Key": source.key}
        if source.version_id:
            copy_source["VersionId"] = source.version_id  # copy exactly the version that was checked
        return copy_source

    def copy(self, source: SourceObject, metadata: dict[str, str], tags: tuple[tuple[str, str], ...]) -> None:
        self._s3.copy_object(
            Bucket=self._bucket,
            Key=source.key,
            CopySource=self.copy_source(source),
            MetadataDirective="REPLACE",
            TaggingDirective="REPLACE",
            **self._attributes(source, metadata, tags),
        )

    def put(
        self, source: SourceObject, body: bytes, metadata: dict[str, str], tags: tuple[tuple[str, str], ...]
    ) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=source.key, Body=body, **self._attributes(source, metadata, tags))

    def multipart_copy(
        self, source: SourceObject, threshold: int, metadata: dict[str, str], tags: tuple[tuple[str, str], ...]
    ) -> None:
        """UploadPartCopy: S3 moves the bytes, so memory stays flat whatever the object size."""
        upload_id = self._start(source, metadata, tags)
        step = part_size(source.size, threshold)
        parts: list[CompletedPartTypeDef] = []
        try:
            for number, start in enumerate(range(0, source.size, step), start=1):
                end = min(start + step, source.size) - 1
                response = self._s3.upload_part_copy(
                    Bucket=self._bucket,
                    Key=source.key,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource=self.copy_source(source),
                    CopySourceRange=f"bytes={start}-{end}",
                )
                parts.append({"PartNumber": number, "ETag": response["CopyPartResult"]["ETag"]})
            self._complete(source, upload_id, parts)
        except BaseException:
            self._abort(source, upload_id)
            raise

    def stream(
        self,
        source: SourceObject,
        chunks: Iterable[bytes],
        metadata: dict[str, str],
        tags: tuple[tuple[str, str], ...],
    ) -> int:
        """Upload a stream of unknown length: one PutObject if it is small, else parts of STREAM_PART bytes.

        An error while iterating ``chunks`` (a document that turns out not to be rewritable) aborts the
        upload, so nothing is written. Returns the bytes written.
        """
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[CompletedPartTypeDef] = []
        written = 0
        try:
            for chunk in chunks:
                buffer += chunk
                while len(buffer) >= STREAM_PART:
                    if upload_id is None:
                        upload_id = self._start(source, metadata, tags)
                    parts.append(self._part(source, upload_id, len(parts) + 1, bytes(buffer[:STREAM_PART])))
                    written += STREAM_PART
                    del buffer[:STREAM_PART]
            if upload_id is None:
                self.put(source, bytes(buffer), metadata, tags)
                return len(buffer)
            if buffer:
                parts.append(self._part(source, upload_id, len(parts) + 1, bytes(buffer)))
                written += len(buffer)
            self._complete(source, upload_id, parts)
            return written
        except BaseException:
            if upload_id is not None:
                self._abort(source, upload_id)
            raise

    def put_tags(self, key: str, tags: tuple[tuple[str, str], ...]) -> None:
        if tags:
            self._s3.put_object_tagging(
                Bucket=self._bucket, Key=key, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags]}
            )
        else:
            self._s3.delete_object_tagging(Bucket=self._bucket, Key=key)

    def _start(self, source: SourceObject, metadata: dict[str, str], tags: tuple[tuple[str, str], ...]) -> str:
        upload = self._s3.create_multipart_upload(
            Bucket=self._bucket, Key=source.key, **self._attributes(source, metadata, tags)
        )
        return upload["UploadId"]

    def _part(self, source: SourceObject, upload_id: str, number: int, body: bytes) -> CompletedPartTypeDef:
        response = self._s3.upload_part(
            Bucket=self._bucket, Key=source.key, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    def _complete(self, source: SourceObject, upload_id: str, parts: list[CompletedPartTypeDef]) -> None:
        self._s3.complete_multipart_upload(
            Bucket=self._bucket, Key=source.key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )

    def _abort(self, source: SourceObject, upload_id: str) -> None:
        # Abandoned parts are billed until aborted; the error itself still propagates.
        self._s3.abort_multipart_upload(Bucket=self._bucket, Key=source.key, UploadId=upload_id)
