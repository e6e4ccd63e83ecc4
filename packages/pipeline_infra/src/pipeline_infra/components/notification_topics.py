"""Success and failure SNS topics, encrypted, with the subscriptions declared in settings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    from pipeline_infra.settings import Subscription

# The AWS managed key for SNS: encryption at rest with no key to manage.
SNS_MANAGED_KEY = "alias/aws/sns"
OUTCOMES = ("success", "failure")


@dataclass
class NotificationTopicsArgs:
    success_topic_name: str
    failure_topic_name: str
    subscriptions: list[Subscription] = field(default_factory=list)


class NotificationTopics(pulumi.ComponentResource):
    success_topic_arn: pulumi.Output[str]
    failure_topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: NotificationTopicsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipeline-infra:notifications:NotificationTopics", name, None, opts)
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
