"""Rules that judge one resource by its own properties (and its provider's default tags)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline_infra_tools.guardrails.documents import (
    POLICY_DOCUMENT_KEYS,
    as_list,
    as_mapping,
    default_tags,
    is_wildcard_action,
    nested,
    policy_documents,
    statements,
)
from pipeline_infra_tools.guardrails.model import ResourceRule

if TYPE_CHECKING:
    from pipeline_infra_tools.guardrails.model import Resource

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
TOPIC_TYPE = "aws:sns/topic:Topic"
QUEUE_TYPE = "aws:sqs/queue:Queue"
LOG_GROUP_TYPE = "aws:cloudwatch/logGroup:LogGroup"
EVENT_TARGET_TYPE = "aws:cloudwatch/eventTarget:EventTarget"
PERMISSION_TYPE = "aws:lambda/permission:Permission"
PIPE_TYPE = "aws:pipes/pipe:Pipe"

REQUIRED_TAGS = ("Environment", "Project", "ManagedBy", "Layer")
# Resource types whose pulumi-aws resource takes `tags` (so the provider's default tags reach them); a unit test
# holds this list to the SDK for every type the layers create.
TAGGABLE_TYPES = (
    "aws:cloudwatch/eventBus:EventBus",
    "aws:cloudwatch/eventRule:EventRule",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:dynamodb/table:Table",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:iam/policy:Policy",
    "aws:iam/role:Role",
    "aws:kms/key:Key",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
    "aws:lambda/function:Function",
    "aws:pipes/pipe:Pipe",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:sns/topic:Topic",
    "aws:sqs/queue:Queue",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
)
# Provider flags that make `pulumi destroy` fail until someone turns them off by hand.
PROTECTION_FLAGS = ("deletionProtectionEnabled", "deletionProtection", "enableDeletionProtection")


def topic_encrypted(resource: Resource) -> list[str]:
    if resource.get("kmsMasterKeyId"):
        return []
    return ["kmsMasterKeyId is not set, so messages rest unencrypted: set a KMS key (alias/aws/sns at least)"]


def queue_encrypted(resource: Resource) -> list[str]:
    if resource.get("sqsManagedSseEnabled") is True or resource.get("kmsMasterKeyId"):
        return []
    return ["neither sqsManagedSseEnabled nor kmsMasterKeyId is set, so messages rest unencrypted"]


def no_wildcard_actions(resource: Resource) -> list[str]:
    reasons: list[str] = []
    if resource.type == PERMISSION_TYPE and is_wildcard_action(resource.get("action")):
        reasons.append(f"action {resource.get('action')} grants every Lambda action: name the one it needs")
    for where, document in policy_documents(resource.type, resource.inputs):
        found = statements(document)
        if found is None:
            reasons.append(f"{where} is not a readable IAM policy document")
            continue
        for index, statement in enumerate(found):
            # A Deny may and should name everything: the TLS-only bucket policy denies s3:* without TLS.
            if statement.get("Effect") != "Allow":
                continue
            label = statement.get("Sid") or f"#{index}"
            wildcards = [str(a) for a in as_list(statement.get("Action")) if is_wildcard_action(a)]
            if wildcards:
                reasons.append(f"{where} statement {label} allows {', '.join(wildcards)}: name the actions it needs")
            if "NotAction" in statement:
                reasons.append(f"{where} statement {label} allows every action but its NotAction list")
    return reasons


def tagged(resource: Resource) -> list[str]:
    tags = {**default_tags(resource.provider_inputs), **(as_mapping(resource.get("tags")) or {})}
    missing = [key for key in REQUIRED_TAGS if not tags.get(key)]
    if not missing:
        return []
    return [
        f"missing tag(s) {', '.join(missing)}: create it with the environment's AWS provider, "
        "whose default tags carry them"
    ]


def destroyable(resource: Resource) -> list[str]:
    reasons = []
    if resource.protect:
        reasons.append("the protect option is set, so `destroy` stops at it")
    reasons += [f"{flag} is true, so `destroy` fails" for flag in PROTECTION_FLAGS if resource.get(flag) is True]
    if resource.type in BUCKET_TYPES and resource.get("forceDestroy") is not True:
        reasons.append("forceDestroy is not true, so `destroy` fails while the bucket holds objects")
    return reasons


def log_retention(resource: Resource) -> list[str]:
    days = resource.get("retentionInDays")
    # Numbers from the policy SDK arrive as floats; bool is an int subclass and never a retention.
    if isinstance(days, int | float) and not isinstance(days, bool) and days > 0:
        return []
    return ["retentionInDays is not set, so logs are kept (and billed) forever"]


def target_dead_letters(resource: Resource) -> list[str]:
    if nested(resource.inputs, "deadLetterConfig", "arn"):
        return []
    return ["no deadLetterConfig: an event EventBridge still cannot deliver after its retries is dropped"]


def pipe_dead_letters(resource: Resource) -> list[str]:
    parameters = as_mapping(nested(resource.inputs, "sourceParameters")) or {}
    if any(nested(source, "deadLetterConfig", "arn") for source in parameters.values()):
        return []
    return ["no deadLetterConfig on its source: a record the Pipe gives up on after its retries is dropped"]


RESOURCE_RULES = (
    ResourceRule(
        name="sns-encryption",
        description="SNS topics are encrypted with a KMS key (kmsMasterKeyId).",
        types=(TOPIC_TYPE,),
        check=topic_encrypted,
    ),
    ResourceRule(
        name="sqs-encryption",
        description="SQS queues are encrypted (sqsManagedSseEnabled or a KMS key).",
        types=(QUEUE_TYPE,),
        check=queue_encrypted,
    ),
    ResourceRule(
        name="iam-no-wildcard-actions",
        description="No Allow statement of any IAM document (role, bucket, queue, topic policy) grants * or service:*.",
        types=(*POLICY_DOCUMENT_KEYS, PERMISSION_TYPE),
        check=no_wildcard_actions,
    ),
    ResourceRule(
        name="default-tags",
        description=f"Every taggable AWS resource carries {', '.join(REQUIRED_TAGS)} (the provider's default tags).",
        types=TAGGABLE_TYPES,
        check=tagged,
    ),
    ResourceRule(
        name="destroyable",
        description="Nothing is protected from destroy (protect, deletion protection); buckets force-destroy.",
        types=(),
        check=destroyable,
    ),
    ResourceRule(
        name="log-retention",
        description="Log groups have retentionInDays set.",
        types=(LOG_GROUP_TYPE,),
        check=log_retention,
    ),
    ResourceRule(
        name="eventbridge-target-dlq",
        description="Every EventBridge target has a dead-letter queue (deadLetterConfig).",
        types=(EVENT_TARGET_TYPE,),
        check=target_dead_letters,
    ),
    ResourceRule(
        name="pipe-source-dlq",
        description="Every EventBridge Pipe's stream source has a dead-letter queue (deadLetterConfig).",
        types=(PIPE_TYPE,),
        check=pipe_dead_letters,
    ),
)
