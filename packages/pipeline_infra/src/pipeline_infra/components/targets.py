"""Pieces shared by every asynchronously invoked function: rule retry policy, invoke permission, failure destination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi_aws as aws

if TYPE_CHECKING:
    import pulumi


@dataclass(kw_only=True, frozen=True)
class Retries:
    """How often and for how long an event is retried before it goes to a dead-letter queue."""

    attempts: int
    """Retries after the first attempt."""
    maximum_event_age_seconds: int
    """An event older than this is not retried again."""


def retry_policy(retries: Retries) -> aws.cloudwatch.EventTargetRetryPolicyArgs:
    """EventBridge retries delivery with backoff within these limits, then hands the event to the target's DLQ."""
    return aws.cloudwatch.EventTargetRetryPolicyArgs(
        maximum_event_age_in_seconds=retries.maximum_event_age_seconds, maximum_retry_attempts=retries.attempts
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


def failures_to_dead_letter_queue(
    name: str,
    function_name: pulumi.Input[str],
    retries: Retries,
    dlq_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> aws.lambda_.FunctionEventInvokeConfig:
    """Lambda's async retries, then the on-failure destination: the event and the reason, kept for a redrive."""
    return aws.lambda_.FunctionEventInvokeConfig(
        name,
        function_name=function_name,
        maximum_retry_attempts=retries.attempts,
        maximum_event_age_in_seconds=retries.maximum_event_age_seconds,
        destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
            on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(destination=dlq_arn)
        ),
        opts=opts,
    )
