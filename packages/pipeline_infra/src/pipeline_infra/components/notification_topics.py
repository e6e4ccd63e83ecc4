"""Success and failure SNS topics, encrypted, with the subscriptions declared in settings.

The failure topic also takes the environment's alarm notifications: CloudWatch publishes them only to a topic
whose policy and key admit it, so that topic has a key of its own (`policies.documents.alarm_topic_key`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.aliases import carry_over
from pipeline_infra.policies import documents

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

TYPE_TOKEN = "pipeline-infra:notifications:NotificationTopics"
# The AWS managed key for SNS: encryption at rest with no key to manage.
SNS_MANAGED_KEY = "alias/aws/sns"
OUTCOMES = ("success", "failure")
# Days a deleted key waits before it is gone (the shortest KMS allows): a destroyed sandbox or dev cleans up soon.
KEY_DELETION_WINDOW_DAYS = 7


@dataclass(kw_only=True, frozen=True)
class TopicSubscription:
    """One subscription to the success or the failure topic."""

    topic: str
    """`success` or `failure`."""
    protocol: str
    """SNS protocol: email, sqs, lambda, https, ..."""
    endpoint: str
    """Address, queue ARN, function ARN or URL, as the protocol wants."""
    filter_policy: Mapping[str, Any] | None = None
    """SNS filter policy on message attributes, if any."""
    raw_message_delivery: bool = False
    """Deliver the message without the SNS envelope (sqs, https)."""


@dataclass(kw_only=True, frozen=True)
class AlarmPublishers:
    """The alarms allowed to publish to the failure topic, and where that topic lives."""

    failure_topic_arn: str
    """The failure topic's ARN, known before it exists (`Names.topic_arn`): its policy names it."""
    account_id: str
    """The environment's account: alarms of another account may not publish."""
    region: str
    """The environment's region: SNS uses the key through `sns.<region>.amazonaws.com`."""
    alarm_arns: str
    """ARN pattern of the environment's alarms (`Names.alarm_arns`)."""


@dataclass(kw_only=True, frozen=True)
class NotificationTopicsArgs:
    success_topic_name: str
    """Physical name of the success topic."""
    failure_topic_name: str
    """Physical name of the failure topic."""
    subscriptions: Sequence[TopicSubscription] = ()
    """Subscriptions to either topic."""
    alarm_publishers: AlarmPublishers | None = None
    """The alarms that notify on the failure topic; None leaves it on the AWS managed key, which they cannot use."""


class NotificationTopics(pulumi.ComponentResource):
    success_topic_arn: pulumi.Output[str]
    failure_topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: NotificationTopicsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        child = pulumi.ResourceOptions(parent=self)
        topic_names = {"success": args.success_topic_name, "failure": args.failure_topic_name}
        keys: dict[str, pulumi.Input[str]] = {outcome: SNS_MANAGED_KEY for outcome in OUTCOMES}
        policies: dict[str, str | None] = {outcome: None for outcome in OUTCOMES}
        alarms = args.alarm_publishers
        if alarms is not None:
            key = aws.kms.Key(
                f"{name}-failure-key",
                description=f"Encrypts {args.failure_topic_name}, which CloudWatch alarms publish to",
                enable_key_rotation=True,
                deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
                policy=json.dumps(documents.alarm_topic_key(alarms.account_id, alarms.region, alarms.alarm_arns)),
                opts=child,
            )
            keys["failure"] = key.arn
            policies["failure"] = json.dumps(
                documents.alarm_topic(alarms.failure_topic_arn, alarms.account_id, alarms.alarm_arns)
            )
        topics = {
            outcome: aws.sns.Topic(
                f"{name}-{outcome}",
                name=topic_names[outcome],
                kms_master_key_id=keys[outcome],
                policy=policies[outcome],
                opts=child,
            )
            for outcome in OUTCOMES
        }
        for index, subscription in enumerate(args.subscriptions):
            aws.sns.TopicSubscription(
                f"{name}-{subscription.topic}-{subscription.protocol}-{index}",
                topic=topics[subscription.topic].arn,
                protocol=subscription.protocol,
                endpoint=subscription.endpoint,
                filter_policy=json.dumps(subscription.filter_policy) if subscription.filter_policy else None,
                raw_message_delivery=subscription.raw_message_delivery or None,
                opts=child,
            )
        self.success_topic_arn = topics["success"].arn
        self.failure_topic_arn = topics["failure"].arn
        self.register_outputs(
            {"success_topic_arn": self.success_topic_arn, "failure_topic_arn": self.failure_topic_arn}
        )
