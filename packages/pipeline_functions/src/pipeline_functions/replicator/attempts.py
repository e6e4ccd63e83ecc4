"""How many times a change has failed, so only its last attempt is reported as `failed` (earlier ones `retrying`).

Lambda does not tell a function which attempt of an asynchronous invocation it is running, so the replicator
counts failures itself, per change, in its idempotency table (TTL-expired like the idempotency records).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX = "attempts#"
REJECTED_PREFIX = "rejected#"


def attempt_key(identity: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
    return KEY_PREFIX + digest


class AttemptLedger:
    """Counts failed attempts per change identity; without a table every failure counts as the last one."""

    def __init__(self, dynamodb: DynamoDBClient | None, table: str | None, ttl_seconds: int) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._ttl = ttl_seconds

    @property
    def counting(self) -> bool:
        return self._dynamodb is not None and self._table is not None

    def record_failure(self, identity: dict[str, Any]) -> int | None:
        """This failure's attempt number (1 for the first), or None when attempts are not counted."""
        if self._dynamodb is None or self._table is None:
            return None
        response = self._dynamodb.update_item(
            TableName=self._table,
            Key={"id": {"S": attempt_key(identity)}},
            UpdateExpression="ADD attempts :one SET expiration = :expiration",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":expiration": {"N": str(int(time.time()) + self._ttl)},
            },
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["attempts"]["N"])

    def first_rejection(self, identity: dict[str, Any]) -> bool:
        """True the first time a record is rejected; a retry of its invocation must not dead-letter it again."""
        if self._dynamodb is None or self._table is None:
            return True
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": REJECTED_PREFIX + attempt_key(identity)},
                    "expiration": {"N": str(int(time.time()) + self._ttl)},
                },
                ConditionExpression="attribute_not_exists(id)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
