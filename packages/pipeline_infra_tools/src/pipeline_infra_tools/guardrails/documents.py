"""Reading what resources carry as JSON text or nested maps: IAM documents, redrive policies, default tags.

The engine hands some properties over as JSON strings (policies, provider configuration) and a rendering keeps
them so; a policy pack may see either form. These helpers accept both and never raise on a malformed value:
a rule reports what it cannot read instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

# Where each resource type keeps an IAM policy document (the trust policy of a role is one too).
POLICY_DOCUMENT_KEYS: dict[str, tuple[str, ...]] = {
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/role:Role": ("assumeRolePolicy",),
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy",),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy",),
    "aws:sqs/queue:Queue": ("policy",),
    "aws:sns/topicPolicy:TopicPolicy": ("policy",),
    "aws:sns/topic:Topic": ("policy",),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("policy",),
}


def as_list(value: Any) -> list[Any]:
    """A value that may be one item or several (IAM's `Action`, `Resource`) as a list."""
    if value is None:
        return []
    # Not `list`: the policy SDK hands lists over as read-only Sequence proxies.
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str | bytes) else [value]


def as_mapping(value: Any) -> Mapping[str, Any] | None:
    """A map from a map or from JSON text holding one; None for anything else (absent, malformed)."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, Mapping) else None
    return None


def nested(value: Any, *path: str) -> Any:
    """`value[path[0]][path[1]]...`, None as soon as a step is missing or not a map."""
    for key in path:
        mapping = as_mapping(value)
        if mapping is None:
            return None
        value = mapping.get(key)
    return value


def policy_documents(resource_type: str, inputs: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(where, document) for every policy document the resource carries, its inline role policies included."""
    found = [(key, inputs.get(key)) for key in POLICY_DOCUMENT_KEYS.get(resource_type, ()) if inputs.get(key)]
    if resource_type == "aws:iam/role:Role":
        for index, inline in enumerate(as_list(inputs.get("inlinePolicies"))):
            if isinstance(inline, Mapping) and inline.get("policy"):
                found.append((f"inlinePolicies[{index}]", inline["policy"]))
    return found


def statements(document: Any) -> list[Mapping[str, Any]] | None:
    """The statements of a policy document; None when it is not a readable document."""
    parsed = as_mapping(document)
    if parsed is None:
        return None
    return [s for s in as_list(parsed.get("Statement")) if isinstance(s, Mapping)]


def is_wildcard_action(action: Any) -> bool:
    """`*` or `service:*`: every action, or every action of a service."""
    return isinstance(action, str) and (action == "*" or action.endswith(":*"))


def default_tags(provider_inputs: Mapping[str, Any] | None) -> dict[str, str]:
    """The tags an AWS provider adds to every taggable resource (its `defaultTags.tags`)."""
    tags = nested((provider_inputs or {}).get("defaultTags"), "tags")
    mapping = as_mapping(tags)
    return {str(k): str(v) for k, v in mapping.items() if v is not None} if mapping else {}


def function_name_from_arn(arn: Any) -> str | None:
    """`name` of `arn:aws:lambda:<region>:<account>:function:name[:qualifier]`; None for any other ARN."""
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return None
    _, found, rest = arn.partition(":function:")
    return rest.split(":", 1)[0] or None if found else None


def queue_name_from_arn(arn: Any) -> str | None:
    """`name` of `arn:aws:sqs:<region>:<account>:name`; None for any other ARN."""
    if not isinstance(arn, str) or not arn.startswith("arn:") or arn.split(":")[2:3] != ["sqs"]:
        return None
    return arn.rsplit(":", 1)[-1] or None
