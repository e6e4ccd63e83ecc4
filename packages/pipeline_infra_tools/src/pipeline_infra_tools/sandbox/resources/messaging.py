"""SNS topics and subscriptions, SQS queues and queue policies: created and read."""

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
from pipeline_infra_tools.sandbox.resources.reading import (
    Extra,
    Inputs,
    Owned,
    ReadSpec,
    fixed_defaults,
    tag_state,
    tags_from_list,
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


# How each attribute's text reads back as the input's type (the rest stay strings or are parsed as documents).
_BOOLEAN_INPUTS = frozenset(
    {"fifoTopic", "fifoQueue", "contentBasedDeduplication", "rawMessageDelivery", "sqsManagedSseEnabled"}
)
_INTEGER_INPUTS = frozenset(
    {
        "signatureVersion",
        "visibilityTimeoutSeconds",
        "messageRetentionSeconds",
        "maxMessageSize",
        "delaySeconds",
        "receiveWaitTimeSeconds",
        "kmsDataKeyReusePeriodSeconds",
    }
)
MISSING_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


def _read_attributes(attributes: dict[str, str], names: dict[str, str]) -> Inputs:
    """SNS and SQS attributes (all text) back to their inputs; an attribute AWS leaves empty is absent."""
    read: Inputs = {}
    for key, name in names.items():
        value = attributes.get(name) or ""
        if not value:
            continue
        if key in _BOOLEAN_INPUTS:
            read[key] = value == "true"
        elif key in _INTEGER_INPUTS:
            read[key] = int(value)
        else:
            read[key] = value
    return read


def read_topic(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    sns = ctx.clients.sns
    found = ignore_missing(sns.get_topic_attributes, "NotFound", TopicArn=id_)
    if found is None:
        return None
    tags = tags_from_list(sns.list_tags_for_resource(ResourceArn=id_).get("Tags"))
    read = {"name": id_.rsplit(":", 1)[1], **_read_attributes(found["Attributes"], TOPIC_ATTRIBUTES)}
    return {**read, **tag_state(tags, inputs, outputs)}


def topic_extras(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext, owned: Owned) -> list[Extra]:
    """Subscriptions of the topic that no stack records (the local runtime adds none to topics)."""
    paginator = ctx.clients.sns.get_paginator("list_subscriptions_by_topic")
    found = []
    for page in paginator.paginate(TopicArn=id_):
        for sub in page.get("Subscriptions", []):
            if ("subscription", id_, sub["Protocol"], sub["Endpoint"]) not in owned:
                detail = f"{sub['Protocol']} subscription to {sub['Endpoint']}"
                found.append(Extra("subscription", sub["SubscriptionArn"], detail))
    return found


def subscription_key(id_: str, inputs: Inputs, outputs: Outputs) -> tuple[str, ...]:
    # Topic, protocol and endpoint name a subscription even before it is confirmed (its ARN is not known then).
    return ("subscription", str(inputs["topic"]), str(inputs["protocol"]), str(inputs["endpoint"]))


def read_subscription(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    found = ignore_missing(ctx.clients.sns.get_subscription_attributes, "NotFound", SubscriptionArn=id_)
    if found is None:
        return None
    attributes = found["Attributes"]
    return {
        "topic": attributes.get("TopicArn"),
        "protocol": attributes.get("Protocol"),
        "endpoint": attributes.get("Endpoint"),
        **_read_attributes(attributes, SUBSCRIPTION_ATTRIBUTES),
    }


def read_queue(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    sqs = ctx.clients.sqs
    found = ignore_missing(sqs.get_queue_attributes, *MISSING_QUEUE, QueueUrl=id_, AttributeNames=["All"])
    if found is None:
        return None
    attributes = found.get("Attributes") or {}
    tags = sqs.list_queue_tags(QueueUrl=id_).get("Tags") or {}
    read = {
        "name": id_.rstrip("/").rsplit("/", 1)[1],
        **_read_attributes(attributes, {**QUEUE_ATTRIBUTES, **QUEUE_CREATE_ONLY}),
    }
    # A standard queue reports no FifoQueue attribute; pulumi-aws reads it as false.
    read.setdefault("fifoQueue", False)
    return {**read, **tag_state(tags, inputs, outputs)}


def read_queue_policy(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    found = ignore_missing(
        ctx.clients.sqs.get_queue_attributes, *MISSING_QUEUE, QueueUrl=id_, AttributeNames=["Policy"]
    )
    policy = (found or {}).get("Attributes", {}).get("Policy")
    # A queue without a policy has no QueuePolicy: the provider's Read drops it.
    return {"queueUrl": id_, "policy": policy} if policy else None


HANDLERS = {
    "aws:sns/topic:Topic": ResourceHandler(create_topic, delete_topic),
    "aws:sns/topicSubscription:TopicSubscription": ResourceHandler(create_subscription, delete_subscription),
    "aws:sqs/queue:Queue": ResourceHandler(create_queue, delete_queue),
    "aws:sqs/queuePolicy:QueuePolicy": ResourceHandler(create_queue_policy, delete_queue_policy),
}

READERS = {
    "aws:sns/topic:Topic": ReadSpec(
        read_topic, extras=topic_extras, documents={"policy": "policy", "deliveryPolicy": "json"}
    ),
    "aws:sns/topicSubscription:TopicSubscription": ReadSpec(
        read_subscription,
        owns=subscription_key,
        documents={"filterPolicy": "json", "redrivePolicy": "json", "deliveryPolicy": "json"},
        defaults=fixed_defaults({"rawMessageDelivery": False}),
    ),
    "aws:sqs/queue:Queue": ReadSpec(
        read_queue,
        documents={"policy": "policy", "redrivePolicy": "json", "redriveAllowPolicy": "json"},
        # AWS's values for what the code leaves out, so a queue changed by hand is seen.
        defaults=fixed_defaults({"visibilityTimeoutSeconds": 30, "delaySeconds": 0, "receiveWaitTimeSeconds": 0}),
    ),
    "aws:sqs/queuePolicy:QueuePolicy": ReadSpec(read_queue_policy, documents={"policy": "policy"}),
}
