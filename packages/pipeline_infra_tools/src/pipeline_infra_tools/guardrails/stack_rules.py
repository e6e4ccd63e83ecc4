"""Rules across resources: a bucket and the resources that configure it, an async path and where it ends.

Each is given every resource in view: one stack under the Pulumi engine, a whole environment offline. What a
rule needs but cannot see (an SQS source whose queue another stack owns) is not judged rather than failed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.guardrails.documents import (
    as_list,
    as_mapping,
    function_name_from_arn,
    nested,
    queue_name_from_arn,
    statements,
)
from pipeline_infra_tools.guardrails.model import StackRule
from pipeline_infra_tools.guardrails.resource_rules import BUCKET_TYPES, EVENT_TARGET_TYPE, LOG_GROUP_TYPE, QUEUE_TYPE

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from pipeline_infra_tools.guardrails.model import Resource

ENCRYPTION_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
PUBLIC_ACCESS_BLOCK_TYPE = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY_TYPE = "aws:s3/bucketPolicy:BucketPolicy"
FUNCTION_TYPE = "aws:lambda/function:Function"
INVOKE_CONFIG_TYPE = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
EVENT_SOURCE_MAPPING_TYPE = "aws:lambda/eventSourceMapping:EventSourceMapping"
SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _of_type(resources: Sequence[Resource], *types: str) -> list[Resource]:
    return [r for r in resources if r.type in types]


def _buckets(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str | None, list[Resource]]]:
    """Each bucket, its name and the resources in view that configure a bucket of that name."""
    by_bucket: dict[Any, list[Resource]] = defaultdict(list)
    for resource in resources:
        if resource.type not in BUCKET_TYPES and isinstance(resource.get("bucket"), str):
            by_bucket[resource.get("bucket")].append(resource)
    for bucket in _of_type(resources, *BUCKET_TYPES):
        name = bucket.get("bucket")
        yield bucket, name if isinstance(name, str) and name else None, by_bucket.get(name, [])


_UNNAMED = "the bucket has no explicit name (`bucket`) to match the resources that configure it by"


def bucket_encrypted(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for bucket, name, related in _buckets(resources):
        configurations = [as_mapping(bucket.get("serverSideEncryptionConfiguration")) or {}]
        configurations += [c.inputs for c in related if c.type in ENCRYPTION_TYPES]
        rules = [rule for c in configurations for rule in (*as_list(c.get("rules")), *as_list(c.get("rule")))]
        algorithms = {nested(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") for rule in rules}
        if not algorithms & set(SSE_ALGORITHMS):
            yield bucket, _UNNAMED if name is None else "no server-side encryption configuration applies to it"


def bucket_public_access_blocked(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for bucket, name, related in _buckets(resources):
        blocks = [r for r in related if r.type == PUBLIC_ACCESS_BLOCK_TYPE]
        if not blocks:
            yield bucket, _UNNAMED if name is None else "no public access block applies to it"
        for block in blocks:
            open_flags = [flag for flag in PUBLIC_ACCESS_FLAGS if block.get(flag) is not True]
            if open_flags:
                yield bucket, f"public access block {block.name} leaves {', '.join(open_flags)} off"


def _denies_insecure_transport(statement: Mapping[str, Any], bucket: str) -> bool:
    condition = nested(statement, "Condition", "Bool", "aws:SecureTransport")
    principal = statement.get("Principal")
    actions = as_list(statement.get("Action"))
    resources = [str(r) for r in as_list(statement.get("Resource"))]
    return (
        statement.get("Effect") == "Deny"
        and str(condition).lower() == "false"
        and (principal == "*" or nested(principal, "AWS") == "*")
        and any(action in ("*", "s3:*") for action in actions)
        and any(r.endswith(f":::{bucket}") for r in resources)
        and any(r.endswith(f":::{bucket}/*") for r in resources)
    )


def bucket_tls_only(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    for bucket, name, related in _buckets(resources):
        if name is None:
            yield bucket, _UNNAMED
            continue
        documents = [statements(p.get("policy")) or [] for p in related if p.type == BUCKET_POLICY_TYPE]
        if not any(_denies_insecure_transport(s, name) for found in documents for s in found):
            yield bucket, "no bucket policy denies s3:* on it and its objects when aws:SecureTransport is false"


def _function_name(value: Any) -> str | None:
    """A function named by name or by ARN (invoke configs and mappings accept both)."""
    if not isinstance(value, str) or not value:
        return None
    return function_name_from_arn(value) or value


def async_on_failure(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    configured: dict[str | None, Resource] = {}
    for config in _of_type(resources, INVOKE_CONFIG_TYPE):
        configured[_function_name(config.get("functionName"))] = config
        if not nested(config.inputs, "destinationConfig", "onFailure", "destination"):
            yield config, "no on-failure destination: an event that fails every async attempt is dropped"
    functions = {f.get("name"): f for f in _of_type(resources, FUNCTION_TYPE)}
    for target in _of_type(resources, EVENT_TARGET_TYPE):
        name = function_name_from_arn(target.get("arn"))
        if name in functions and name not in configured:
            yield (
                functions[name],
                f"invoked asynchronously by EventBridge target {target.name} but has no event invoke config "
                "with an on-failure destination",
            )


def sqs_source_redrive(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    queues = {q.get("name"): q for q in _of_type(resources, QUEUE_TYPE)}
    for mapping in _of_type(resources, EVENT_SOURCE_MAPPING_TYPE):
        queue = queues.get(queue_name_from_arn(mapping.get("eventSourceArn")))
        if queue is not None and not nested(queue.get("redrivePolicy"), "deadLetterTargetArn"):
            yield queue, f"feeds Lambda through {mapping.name} but has no redrive policy: a poison message loops"


def log_group_first(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    log_groups: dict[tuple[str, Any], Resource] = {
        (g.stack, g.get("name")): g for g in _of_type(resources, LOG_GROUP_TYPE)
    }
    for function in _of_type(resources, FUNCTION_TYPE):
        name = function.get("name")
        if not isinstance(name, str) or not name:
            yield function, "the function has no explicit name, so its log group cannot be created before it"
            continue
        expected = f"/aws/lambda/{name}"
        logging_to = nested(function.inputs, "loggingConfig", "logGroup")
        if logging_to and logging_to != expected:
            yield function, f"logs to {logging_to}, not to its own log group {expected}"
        group = log_groups.get((function.stack, expected))
        if group is None:
            yield function, f"no log group {expected} in its stack: Lambda would create one without retention"
        elif function.dependencies is not None and group.urn not in function.dependencies:
            yield function, f"does not depend on its log group {group.name}, so it may be created first"
        elif function.dependencies is None and group.position > function.position:
            yield function, f"is registered before its log group {group.name}, so it may be created first"


STACK_RULES = (
    StackRule(
        name="s3-encryption",
        description="S3 buckets have server-side encryption configured.",
        types=BUCKET_TYPES,
        check=bucket_encrypted,
    ),
    StackRule(
        name="s3-public-access-block",
        description="S3 buckets have a public access block with all four flags on.",
        types=BUCKET_TYPES,
        check=bucket_public_access_blocked,
    ),
    StackRule(
        name="s3-tls-only",
        description="S3 buckets have a policy denying every request without TLS (aws:SecureTransport false).",
        types=BUCKET_TYPES,
        check=bucket_tls_only,
    ),
    StackRule(
        name="lambda-async-on-failure",
        description=(
            "Every event invoke config has an on-failure destination, and every function an EventBridge target "
            "invokes has one."
        ),
        types=(INVOKE_CONFIG_TYPE, FUNCTION_TYPE),
        check=async_on_failure,
    ),
    StackRule(
        name="sqs-source-redrive",
        description="Every SQS queue a Lambda event source mapping reads has a redrive policy (a DLQ).",
        types=(QUEUE_TYPE,),
        check=sqs_source_redrive,
    ),
    StackRule(
        name="log-group-before-function",
        description="Every function's log group /aws/lambda/<name> exists in its stack and is created before it.",
        types=(FUNCTION_TYPE,),
        check=log_group_first,
    ),
)
