"""Rules that hold for every resource of every stack: least privilege, default tags, names, destroyability."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from pipeline_infra.policies import WILDCARD_ACTIONS
from tests.unit.conftest import ENVIRONMENTS

POLICY_TYPES = {"aws:iam/rolePolicy:RolePolicy": "policy", "aws:iam/role:Role": "assumeRolePolicy"}
NAMED = {
    "aws:dynamodb/table:Table": ("name", "ddb"),
    "aws:sqs/queue:Queue": ("name", "sqs"),
    "aws:sns/topic:Topic": ("name", "sns"),
    "aws:lambda/function:Function": ("name", "lambda"),
    "aws:iam/role:Role": ("name", "iam"),
    "aws:cloudwatch/eventRule:EventRule": ("name", "rule"),
    "aws:cloudwatch/eventBus:EventBus": ("name", "bus"),
    "aws:pipes/pipe:Pipe": ("name", "pipe"),
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def all_resources(rendered: dict):
    for (layer, env), stack in rendered.items():
        for resource in stack.resources:
            yield layer, env, resource


def test_every_permission_statement_names_actions_and_resources(rendered: dict) -> None:
    checked = 0
    for _, _, resource in all_resources(rendered):
        if resource.type != "aws:iam/rolePolicy:RolePolicy":
            continue
        for statement in json.loads(resource.inputs["policy"])["Statement"]:
            actions, resources = _as_list(statement["Action"]), _as_list(statement["Resource"])
            assert actions and resources, (resource.urn, statement)
            assert not any(a == "*" or a.endswith(":*") for a in actions), (resource.urn, statement)
            if "*" in resources:
                # Only actions that support no resource-level permission: X-Ray trace upload, ListStreams.
                assert set(actions) <= set(WILDCARD_ACTIONS), (resource.urn, statement)
            assert statement["Effect"] == "Allow"
            checked += 1
    assert checked > 20


def test_wildcard_resources_are_xray_where_tracing_is_on_and_the_pipes_list_streams(rendered: dict) -> None:
    for (_layer, env), stack in rendered.items():
        for policy in stack.of_type("aws:iam/rolePolicy:RolePolicy"):
            wildcard = [s for s in json.loads(policy.inputs["policy"])["Statement"] if "*" in _as_list(s["Resource"])]
            if "pipe" in policy.name:
                # ListStreams supports no resource-level permission: on the stream ARN it would never apply.
                assert [(s["Sid"], s["Action"]) for s in wildcard] == [("ListStreams", ["dynamodb:ListStreams"])]
            elif env == "dev" or "writer" in policy.name:
                assert wildcard == [], policy.urn
            else:
                assert [s["Sid"] for s in wildcard] == ["UploadTraces"], policy.urn


def test_inline_policies_follow_the_naming_rule(rendered: dict) -> None:
    """Like every other resource, an inline policy's name carries its environment and suffix."""
    checked = 0
    for (_layer, env), stack in rendered.items():
        for policy in stack.of_type("aws:iam/rolePolicy:RolePolicy"):
            assert re.fullmatch(rf"[a-z0-9-]+-{env}-[a-z0-9]+-policy", policy.inputs["name"]), policy.urn
            checked += 1
    assert checked >= 10


def test_no_managed_policies_are_attached(rendered: dict) -> None:
    for _, _, resource in all_resources(rendered):
        assert "Attachment" not in resource.type, resource.urn
        assert not resource.inputs.get("managedPolicyArns"), resource.urn


def test_every_aws_resource_uses_the_tagged_provider(rendered: dict) -> None:
    for (layer, env), stack in rendered.items():
        [provider] = stack.of_type("pulumi:providers:aws")
        tags = json.loads(provider.inputs["defaultTags"])["tags"]
        assert tags == {"Environment": env, "Project": "pipeline-infra", "ManagedBy": "pulumi", "Layer": layer}
        for resource in stack.resources:
            if resource.type.startswith("aws:"):
                assert resource.provider == f"{provider.urn}::{provider.id}", resource.urn


def test_taggable_resources_report_the_default_tags(rendered: dict) -> None:
    for (_, env), stack in rendered.items():
        for type_ in (
            "aws:s3/bucket:Bucket",
            "aws:dynamodb/table:Table",
            "aws:sqs/queue:Queue",
            "aws:lambda/function:Function",
        ):
            for resource in stack.of_type(type_):
                assert resource.outputs["tagsAll"]["Environment"] == env, resource.urn


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_names_follow_resource_purpose_env_suffix(rendered: dict, env: str) -> None:
    for (_, stack_env), stack in rendered.items():
        if stack_env != env:
            continue
        for resource in stack.resources:
            if resource.type in NAMED:
                key, kind = NAMED[resource.type]
                assert re.fullmatch(rf"{kind}-[a-z0-9-]+-{env}-pl01", resource.inputs[key]), resource.urn


def test_nothing_is_protected_from_destroy(rendered: dict) -> None:
    for _, _, resource in all_resources(rendered):
        assert resource.inputs.get("deletionProtectionEnabled") in (None, False), resource.urn
        if resource.type == "aws:s3/bucket:Bucket":
            assert resource.inputs["forceDestroy"] is True, resource.urn


def test_trust_policies_name_one_principal(rendered: dict) -> None:
    for _, _, resource in all_resources(rendered):
        if resource.type == "aws:iam/role:Role":
            [statement] = json.loads(resource.inputs["assumeRolePolicy"])["Statement"]
            principal = statement["Principal"]
            assert principal != "*" and "*" not in json.dumps(principal), resource.urn
