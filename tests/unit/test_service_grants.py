"""Resource policies decided for service deliveries as AWS decides them (the sandbox's service principals)."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline_infra_tools.sandbox.service_grants import ServiceRequest, decide, queue_policy_admitting

QUEUE = "arn:aws:sqs:us-east-1:123456789012:sqs-tasks-dlq-prod-pl01"
RULE = "arn:aws:events:us-east-1:123456789012:rule/rule-raw-uploads-prod-pl01"
OTHER_RULE = "arn:aws:events:us-east-1:123456789012:rule/rule-other-prod-pl01"
FROM_RULE = ServiceRequest("events.amazonaws.com", "sqs:SendMessage", QUEUE, RULE, "123456789012")


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(**overrides: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": QUEUE,
        "Condition": {"ArnEquals": {"aws:SourceArn": RULE}},
        **overrides,
    }


def test_the_grant_the_sandbox_gives_its_own_queues_admits_exactly_its_source() -> None:
    granted = queue_policy_admitting(QUEUE, "events.amazonaws.com", RULE)
    assert decide(granted, FROM_RULE).allowed
    assert not decide(
        granted, ServiceRequest("events.amazonaws.com", "sqs:SendMessage", QUEUE, OTHER_RULE, "1")
    ).allowed
    assert not decide(granted, ServiceRequest("sns.amazonaws.com", "sqs:SendMessage", QUEUE, RULE, "1")).allowed


@pytest.mark.parametrize(
    ("document", "allowed"),
    [
        (None, False),
        (policy(allow()), True),
        (policy(allow(Condition={"ArnLike": {"aws:SourceArn": "arn:aws:events:*:123456789012:rule/*"}})), True),
        (policy(allow(Condition={"StringEquals": {"aws:SourceAccount": "123456789012"}})), True),
        (policy(allow(Condition={"StringEquals": {"aws:SourceAccount": "999999999999"}})), False),
        (policy(allow(Condition={"ArnEquals": {"aws:SourceArn": OTHER_RULE}})), False),
        (policy(allow(Condition={"ArnEquals": {"aws:SourceArn": [OTHER_RULE, RULE]}})), True),
        (policy(allow(Principal={"Service": "sns.amazonaws.com"})), False),
        (policy(allow(Principal={"AWS": "arn:aws:iam::123456789012:root"})), False),
        (policy(allow(Principal="*")), True),
        (policy(allow(Action="sqs:*")), True),
        (policy(allow(Action="sqs:ReceiveMessage")), False),
        (policy(allow(Resource="arn:aws:sqs:us-east-1:123456789012:other")), False),
        (policy(allow(), {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": QUEUE}), False),
        # A TLS-only deny never stops a service: services call over TLS.
        (
            policy(
                allow(),
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": QUEUE,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ),
            True,
        ),
        (policy(allow(Condition={"ArnEqualsIfExists": {"aws:SourceVpc": "vpc-1"}})), True),
        (policy(allow(Condition={"StringEquals": {"aws:PrincipalOrgID": "o-1"}})), False),
    ],
)
def test_decisions_follow_aws_evaluation(document: dict[str, Any] | None, allowed: bool) -> None:
    decision = decide(document, FROM_RULE)
    assert decision.allowed is allowed, decision.reason


def test_a_statement_it_cannot_decide_refuses_and_says_why() -> None:
    decision = decide(policy(allow(Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}})), FROM_RULE)
    assert not decision.allowed
    assert "DateGreaterThan" in decision.reason


def test_a_refusal_names_the_missing_grant() -> None:
    decision = decide(policy(allow(Condition={"ArnEquals": {"aws:SourceArn": OTHER_RULE}})), FROM_RULE)
    assert "events.amazonaws.com" in decision.reason and RULE in decision.reason
