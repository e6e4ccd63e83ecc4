"""Pieces shared by every EventBridge → Lambda wiring: the retry policy and the invoke permission."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi_aws as aws

if TYPE_CHECKING:
    import pulumi

# EventBridge keeps retrying with backoff for up to an hour, then hands the event to the target's DLQ.
RETRY_POLICY = aws.cloudwatch.EventTargetRetryPolicyArgs(maximum_event_age_in_seconds=3600, maximum_retry_attempts=8)


def retry_policy(attempts: int, max_age_seconds: int) -> aws.cloudwatch.EventTargetRetryPolicyArgs:
    return aws.cloudwatch.EventTargetRetryPolicyArgs(
        maximum_event_age_in_seconds=max_age_seconds, maximum_retry_attempts=attempts
    )


def invoke_permission(
    name: str, function_name: pulumi.Input[str], rule_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.lambda_.Permission:
    """Let exactly one EventBridge rule invoke the function."""
    return aws.lambda_.Permission(
        name,
        action="lambda:InvokeFunction",
        function=function_name,
        principal="events.amazonaws.com",
        source_arn=rule_arn,
        opts=opts,
    )
