"""The replicator's own dead letters: one message per change that finally failed or was rejected.

Lambda's on-failure destination would take the whole invocation, good records included; the replicator puts
only the bad records there, in the same record shape Lambda writes (``requestContext``, ``requestPayload``,
``responsePayload``), so `pipeline-infra redrive` replays both kinds alike. If sending fails the invocation
raises and Lambda's own destination still catches the event: nothing is lost either way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_sqs import SQSClient

# Lambda's own condition for exhausted retries; rejected records get one of their own.
RETRIES_EXHAUSTED = "RetriesExhausted"
REJECTED = "RejectedRecord"
REFUSED = "RefusedChange"


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    payload: Any
    condition: str
    attempts: int
    error_type: str
    reason: str

    def record(self, context: LambdaContext | None) -> dict[str, Any]:
        return {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": getattr(context, "aws_request_id", ""),
                "functionArn": f"{getattr(context, 'invoked_function_arn', '')}",
                "condition": self.condition,
                "approximateInvokeCount": self.attempts,
            },
            "requestPayload": self.payload,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Handled"},
            "responsePayload": {"errorType": self.error_type, "errorMessage": self.reason},
        }

    def summary(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "condition": self.condition,
            "attempts": self.attempts,
            "error": self.error_type,
            "reason": self.reason,
        }


class DeadLetterQueue:
    """Sends dead letters to the replication DLQ; raises if it cannot (the caller must then fail the invocation)."""

    def __init__(self, sqs: SQSClient, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def send(self, letter: DeadLetter, context: LambdaContext | None) -> None:
        body = json.dumps(letter.record(context), default=str)
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=body,
            MessageAttributes={
                "condition": {"DataType": "String", "StringValue": letter.condition},
                "event_id": {"DataType": "String", "StringValue": letter.event_id or "-"},
            },
        )
