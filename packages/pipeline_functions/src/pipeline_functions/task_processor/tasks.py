"""Processing one task: the metadata item of a VALID file becomes PROCESSED, with how long that took."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from pipeline_functions import constants as c
from pipeline_functions.shared.config import require_str
from pipeline_functions.shared.s3events import parse_time
from pipeline_functions.task_processor.exceptions import InvalidTaskError, TaskStateError

if TYPE_CHECKING:
    from collections.abc import Mapping

logger = Logger()
VALID = "VALID"
PROCESSED = "PROCESSED"


@dataclass(frozen=True)
class TaskSettings:
    environment: str
    metadata_table: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TaskSettings:
        return cls(
            environment=require_str(c.ENVIRONMENT_ENV, environ),
            metadata_table=require_str(c.METADATA_TABLE_ENV, environ),
        )


@dataclass(frozen=True)
class Task:
    key: str
    bucket: str | None
    dataset: str | None
    validated_at: str | None

    @classmethod
    def from_body(cls, body: str | None) -> Task:
        try:
            raw = json.loads(body or "")
        except json.JSONDecodeError as exc:
            raise InvalidTaskError(f"message body is not JSON: {exc.msg}") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("key"), str) or not raw["key"]:
            raise InvalidTaskError("message body has no 'key' (expected the validated object's key)")
        return cls(raw["key"], raw.get("bucket"), raw.get("dataset"), raw.get("validated_at"))


@dataclass(frozen=True)
class TaskOutcome:
    key: str
    status: str
    duration_ms: float
    already_processed: bool = False


class TaskRunner:
    def __init__(self, settings: TaskSettings, dynamodb_client: Any) -> None:
        self.settings = settings
        self._dynamodb = dynamodb_client

    def run(self, task: Task) -> TaskOutcome:
        started = time.perf_counter()
        item = self._dynamodb.get_item(
            TableName=self.settings.metadata_table, Key={"pk": {"S": task.key}}, ConsistentRead=True
        ).get("Item")
        if not item:
            raise TaskStateError(f"no metadata item for {task.key!r}; the validator writes it before queueing")
        status = item.get("status", {}).get("S")
        if status == PROCESSED:
            # A redelivered message: the work is done, so succeed without writing again.
            return TaskOutcome(task.key, PROCESSED, float(item.get("duration_ms", {}).get("N", 0)), True)
        if status != VALID:
            raise TaskStateError(
                f"metadata item for {task.key!r} has status {status!r}; only VALID files are processed"
            )
        now = datetime.now(UTC)
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        values: dict[str, Any] = {
            ":processed": {"S": PROCESSED},
            ":valid": {"S": VALID},
            ":at": {"S": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
            ":duration": {"N": str(duration_ms)},
        }
        expression = "SET #status = :processed, processed_at = :at, duration_ms = :duration"
        if task.validated_at:
            latency = max((now - parse_time(task.validated_at)).total_seconds(), 0.0)
            values[":latency"] = {"N": f"{latency:.3f}"}
            expression += ", latency_seconds = :latency"
        try:
            self._dynamodb.update_item(
                TableName=self.settings.metadata_table,
                Key={"pk": {"S": task.key}},
                UpdateExpression=expression,
                ConditionExpression="#status = :valid",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                # Another delivery of the same task got there first.
                return TaskOutcome(task.key, PROCESSED, duration_ms, True)
            raise
        return TaskOutcome(task.key, PROCESSED, duration_ms)
