"""Validating one uploaded raw/ file: stream it, check every record, record the result, hand it on."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from pipeline_functions.shared.aws import client
from pipeline_functions.shared.notifications import Notification, Notifier
from pipeline_functions.shared.s3events import S3ObjectEvent, parse_s3_events
from pipeline_functions.shared.telemetry import emit_metric
from pipeline_functions.validator.exceptions import InvalidFileError, ObjectGoneError
from pipeline_functions.validator.readers import (
    CHUNK_BYTES,
    TextStream,
    csv_records,
    file_format,
    json_records,
    ndjson_records,
)
from pipeline_functions.validator.schema import RecordValidator, load_schema, schema_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

    from pipeline_functions.validator.settings import ValidatorSettings

logger = Logger()
SOURCE = "validator"
RAW_PREFIX = "raw/"
VALID = "VALID"
INVALID = "INVALID"
SKIPPED = "SKIPPED"


@dataclass
class ValidationResult:
    bucket: str
    key: str
    dataset: str
    status: str
    size: int = 0
    record_count: int = 0
    checksum: str | None = None
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    version_id: str | None = None
    timestamp: str = ""

    def item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": {"S": self.key},
            "dataset": {"S": self.dataset or "-"},
            "key": {"S": self.key},
            "bucket": {"S": self.bucket},
            "status": {"S": self.status},
            "size": {"N": str(self.size)},
            "record_count": {"N": str(self.record_count)},
            "error_count": {"N": str(self.error_count)},
            "errors": {"L": [{"S": error} for error in self.errors]},
            "schema": {"S": schema_key(self.dataset) if self.dataset else "-"},
            "timestamp": {"S": self.timestamp},
        }
        if self.checksum:
            item["checksum"] = {"S": f"sha256:{self.checksum}"}
        if self.version_id:
            item["version_id"] = {"S": self.version_id}
        return item


def dataset_of(key: str) -> str | None:
    """``raw/<dataset>/<file...>`` -> dataset; None when the key does not have that shape."""
    parts = key.split("/")
    if len(parts) >= 3 and parts[0] + "/" == RAW_PREFIX and parts[1] and parts[-1]:
        return parts[1]
    return None


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Validator:
    """Validates raw/ uploads; clients are injectable so tests point them at an emulator."""

    def __init__(
        self,
        settings: ValidatorSettings,
        *,
        s3_client: S3Client | None = None,
        dynamodb_client: DynamoDBClient | None = None,
        sqs_client: SQSClient | None = None,
        sns_client: SNSClient | None = None,
    ) -> None:
        self.settings = settings
        self._s3 = s3_client or client("s3")
        self._dynamodb = dynamodb_client or client("dynamodb")
        self._sqs = sqs_client or client("sqs")
        self._notifier = Notifier(sns_client or client("sns"), settings.success_topic_arn, settings.failure_topic_arn)

    def handle(self, event: Any) -> dict[str, Any]:
        results = []
        for change in parse_s3_events(event):
            logger.set_correlation_id(change.event_id)
            results.append(asdict(self.validate(change)))
        return {"results": results}

    def validate(self, change: S3ObjectEvent) -> ValidationResult:
        dims = {"Environment": self.settings.environment}
        result = ValidationResult(change.bucket, change.key, dataset_of(change.key) or "", SKIPPED, timestamp=utc_now())
        if not change.created or not change.key.startswith(RAW_PREFIX):
            logger.info("not a raw/ upload; nothing to validate", extra={"key": change.key, "type": change.detail_type})
            emit_metric("ValidationSkipped", 1, dimensions=dims)
            return result
        try:
            self._check(change, result)
        except InvalidFileError as exc:
            result.status, result.errors, result.error_count = INVALID, [str(exc)], max(result.error_count, 1)
        except ObjectGoneError:
            logger.warning("object was deleted before it could be validated", extra={"key": change.key})
            emit_metric("ValidationSkipped", 1, dimensions=dims)
            return result
        self._dynamodb.put_item(TableName=self.settings.metadata_table, Item=result.item())
        log = {"key": result.key, "status": result.status, "records": result.record_count, "errors": result.errors}
        if result.status == VALID:
            logger.info("file valid", extra=log)
            emit_metric("FilesValid", 1, dimensions=dims)
            emit_metric("RecordsValidated", result.record_count, dimensions=dims)
            self._sqs.send_message(QueueUrl=self.settings.task_queue_url, MessageBody=json.dumps(self._task(result)))
        else:
            logger.warning("file invalid", extra=log)
            emit_metric("FilesInvalid", 1, dimensions=dims)
            self._notifier.publish(
                Notification(
                    outcome="invalid",
                    environment=self.settings.environment,
                    source=SOURCE,
                    resource=f"s3://{result.bucket}/{result.key}",
                    correlation_id=change.event_id,
                    reason="; ".join(result.errors[:5]),
                    details={"dataset": result.dataset, "error_count": result.error_count},
                )
            )
        return result

    def _check(self, change: S3ObjectEvent, result: ValidationResult) -> None:
        try:
            head = self._s3.head_object(Bucket=change.bucket, Key=change.key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise ObjectGoneError(change.key) from exc
            raise
        result.size = int(head.get("ContentLength", 0))
        result.version_id = head.get("VersionId")
        if not result.dataset:
            raise InvalidFileError(f"key {change.key!r} does not name a dataset; expected raw/<dataset>/<file>")
        if result.size == 0:
            raise InvalidFileError("file is empty (0 bytes)")
        fmt = file_format(change.key)
        if fmt is None:
            raise InvalidFileError("unsupported file type; expected .json, .ndjson/.jsonl or .csv")
        schema = load_schema(self._s3, change.bucket, result.dataset)
        kwargs: dict[str, Any] = {"Bucket": change.bucket, "Key": change.key}
        if result.version_id:
            kwargs["VersionId"] = result.version_id  # validate exactly the version that was measured
        body = self._s3.get_object(**kwargs)["Body"]
        stream = TextStream(body.iter_chunks(CHUNK_BYTES))
        if fmt == "csv":
            records = csv_records(stream, schema)
        elif fmt == "ndjson":
            records = ndjson_records(stream)
        else:
            records = json_records(stream)
        checker = RecordValidator(schema)
        try:
            checker.add_all(records)
        finally:
            result.record_count = checker.records
            result.errors, result.error_count = checker.errors, checker.error_count
        result.checksum = stream.sha256.hexdigest()
        if checker.records == 0:
            raise InvalidFileError("file holds no records")
        result.status = INVALID if checker.error_count else VALID

    def _task(self, result: ValidationResult) -> dict[str, Any]:
        return {
            "bucket": result.bucket,
            "key": result.key,
            "dataset": result.dataset,
            "checksum": result.checksum,
            "version_id": result.version_id,
            "record_count": result.record_count,
            "validated_at": result.timestamp,
        }
