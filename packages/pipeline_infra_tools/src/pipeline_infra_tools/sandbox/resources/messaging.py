"""SNS topics and subscriptions, SQS queues and queue policies."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.resources.base import (
    Outputs,
    ResourceContext,
    ResourceHandler,
    error_code,
    ignore_missing,
    tag_list,
)

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import ResourceRequest

# pulumi-aws input -> SNS attribute name.
TOPIC_ATTRIBUTES = {
    "kmsMasterKeyId": "KmsMasterKeyId",
    "displayName": "DisplayName",
    "policy": "Policy",
    "deliveryPolicy": "DeliveryPolicy",
    "fifoTopic": "FifoTopic",
    "contentBasedDeduplication": "ContentBasedDeduplication",
    "signatureVersion": "SignatureVersion",
    "tracingConfig": "TracingConfig",
}
SUBSCRIPTION_ATTRIBUTES = {
    "filterPolicy": "FilterPolicy",
    "filterPolicyScope": "FilterPolicyScope",
    "rawMessageDelivery": "RawMessageDelivery",
    "redrivePolicy": "RedrivePolicy",
    "deliveryPolicy": "DeliveryPolicy",
    "subscriptionRoleArn": "SubscriptionRoleArn",
}
QUEUE_ATTRIBUTES = {
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "maxMessageSize": "MaximumMessageSize",
    "delaySeconds": "DelaySeconds",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "redrivePolicy": "RedrivePolicy",
    "redriveAllowPolicy": "RedriveAllowPolicy",
    "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "kmsMasterKeyId": "KmsMasterKeyId",
    "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
    "policy": "Policy",
}
# Attributes that can only be given when the queue is created.
QUEUE_CREATE_ONLY = {"fifoQueue": "FifoQueue", "contentBasedDeduplication": "ContentBasedDeduplication"}


def _attribute_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _attributes(inputs: dict[str, Any], names: dict[str, str]) -> dict[str, str]:
    return {name: _attribute_value(inputs[key]) for key, name in names.items() if inputs.get(key) is not None}


def create_topic(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    sns = ctx.clients.sns
    name = str(request.inputs.get("name") or request.name)
    # CreateTopic returns the existing topic's ARN for a name that exists; attributes and tags are then set.
    arn = sns.create_topic(Name=name)["TopicArn"]
    for attribute, value in _attributes(request.inputs, TOPIC_ATTRIBUTES).items():
        sns.set_topic_attributes(TopicArn=arn, AttributeName=attribute, AttributeValue=value)
    if ctx.tags:
        sns.tag_resource(ResourceArn=arn, Tags=tag_list(ctx.tags))
    return arn, {"arn": arn, "owner": ctx.account_id}


def delete_topic(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(ctx.clients.sns.delete_topic, "NotFound", TopicArn=id_)


def create_subscription(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    sns, inputs = ctx.clients.sns, request.inputs
    # Subscribe is idempotent for the same topic, protocol and endpoint: it returns the existing ARN.
    arn = sns.subscribe(
        TopicArn=inputs["topic"], Protocol=inputs["protocol"], Endpoint=inputs["endpoint"], ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    for attribute, value in _attributes(inputs, SUBSCRIPTION_ATTRIBUTES).items():
        sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName=attribute, AttributeValue=value)
    return arn, {
        "arn": arn,
        "ownerId": ctx.account_id,
        "pendingConfirmation": inputs["protocol"] in ("email", "email-json"),
    }


def delete_subscription(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(ctx.clients.sns.unsubscribe, "NotFound", SubscriptionArn=id_)


def create_queue(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    sqs, inputs = ctx.clients.sqs, request.inputs
    name = str(inputs.get("name") or request.name)
    attributes = _attributes(inputs, QUEUE_ATTRIBUTES)
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as err:
        if error_code(err) not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise
        create_only = _attributes(inputs, QUEUE_CREATE_ONLY)
        url = sqs.create_queue(QueueName=name, Attributes={**attributes, **create_only}, tags=ctx.tags)["QueueUrl"]
    else:
        # CreateQueue refuses different attributes for an existing name; an update sets them instead.
        if attributes:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        if ctx.tags:
            sqs.tag_queue(QueueUrl=url, Tags=ctx.tags)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, {"arn": arn, "url": url}


def delete_queue(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(
        ctx.clients.sqs.delete_queue, "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", QueueUrl=id_
    )


def create_queue_policy(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    url = str(request.inputs["queueUrl"])
    ctx.clients.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": str(request.inputs["policy"])})
    return url, {}


def delete_queue_policy(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(
        ctx.clients.sqs.set_queue_attributes,
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        QueueUrl=id_,
        Attributes={"Policy": ""},
    )


HANDLERS = {
    "aws:sns/topic:Topic": ResourceHandler(create_topic, delete_topic),
    "aws:sns/topicSubscription:TopicSubscription": ResourceHandler(create_subscription, delete_subscription),
    "aws:sqs/queue:Queue": ResourceHandler(create_queue, delete_queue),
    "aws:sqs/queuePolicy:QueuePolicy": ResourceHandler(create_queue_policy, delete_queue_policy),
}
