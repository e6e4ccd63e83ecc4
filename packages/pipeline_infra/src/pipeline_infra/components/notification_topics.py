"""Success and failure SNS topics, encrypted, with the subscriptions declared in settings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.aliases import carry_over

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

TYPE_TOKEN = "pipeline-infra:notifications:NotificationTopics"
# The AWS managed key for SNS: encryption at rest with no key to manage.
SNS_MANAGED_KEY = "alias/aws/sns"
OUTCOMES = ("success", "failure")


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
class NotificationTopicsArgs:
    success_topic_name: str
    """Physical name of the success topic."""
    failure_topic_name: str
    """Physical name of the failure topic."""
    subscriptions: Sequence[TopicSubscription] = ()
    """Subscriptions to either topic."""


class NotificationTopics(pulumi.ComponentResource):
    success_topic_arn: pulumi.Output[str]
    failure_topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: NotificationTopicsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        child = pulumi.ResourceOptions(parent=self)
        topic_names = {"success": args.success_topic_name, "failure": args.failure_topic_name}
        topics = {
            outcome: aws.sns.Topic(
                f"{name}-{outcome}", name=topic_names[outcome], kms_master_key_id=SNS_MANAGED_KEY, opts=child
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
