"""SNS notifications for every outcome, with message attributes subscriptions can filter on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

logger = Logger()

# Outcomes that go to the failure topic; everything else goes to the success topic. `retrying` is an attempt
# that failed and will be retried: subscribers who want final failures only filter on outcome.
FAILURE_OUTCOMES = frozenset({"failed", "retrying", "invalid", "drift", "rejected"})
# SNS message bodies are limited to 256 KiB; reasons are trimmed well below that.
_MAX_REASON = 4000


@dataclass(frozen=True)
class Notification:
    outcome: str
    environment: str
    source: str
    resource: str
    correlation_id: str
    reason: str = ""
    details: dict[str, Any] | None = None

    def body(self) -> str:
        payload: dict[str, Any] = {
            "outcome": self.outcome,
            "environment": self.environment,
            "source": self.source,
            "resource": self.resource,
            "correlation_id": self.correlation_id,
            "reason": self.reason[:_MAX_REASON],
        }
        if self.details:
            payload["details"] = self.details
        return json.dumps(payload, default=str, sort_keys=True)


class Notifier:
    """Publishes to the success or failure topic; a topic left unset is logged, never silently skipped."""

    def __init__(self, sns_client: SNSClient, success_topic_arn: str | None, failure_topic_arn: str | None) -> None:
        self._sns = sns_client
        self._success = success_topic_arn
        self._failure = failure_topic_arn

    def publish(self, notification: Notification) -> str | None:
        failure = notification.outcome in FAILURE_OUTCOMES
        topic = self._failure if failure else self._success
        if not topic:
            logger.warning(
                "no topic configured for this outcome; notification not sent",
                extra={"outcome": notification.outcome, "resource": notification.resource},
            )
            return None
        response = self._sns.publish(
            TopicArn=topic,
            Subject=f"pipeline {notification.source} {notification.outcome}"[:99],
            Message=notification.body(),
            MessageAttributes={
                "outcome": {"DataType": "String", "StringValue": notification.outcome},
                "environment": {"DataType": "String", "StringValue": notification.environment},
                "source": {"DataType": "String", "StringValue": notification.source},
            },
        )
        return str(response["MessageId"])
