"""An encrypted SQS queue, optionally with its own dead-letter queue."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.aliases import carry_over

TYPE_TOKEN = "pipeline-infra:notifications:MessageQueue"


@dataclass(kw_only=True, frozen=True)
class MessageQueueArgs:
    queue_name: str
    """Physical queue name."""
    retention_seconds: int
    """How long a message is kept, in this queue and in its dead-letter queue."""
    visibility_timeout_seconds: int = 30
    """How long a received message stays hidden from other consumers."""
    dead_letter_queue_name: str | None = None
    """Name of a dead-letter queue to create for this queue; None creates none."""
    max_receive_count: int = 3
    """Receives after which a message moves to the dead-letter queue."""


class MessageQueue(pulumi.ComponentResource):
    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    dead_letter_queue_url: pulumi.Output[str] | None
    dead_letter_queue_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: MessageQueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        child = pulumi.ResourceOptions(parent=self)
        dead_letters = None
        if args.dead_letter_queue_name:
            dead_letters = aws.sqs.Queue(
                f"{name}-dlq",
                name=args.dead_letter_queue_name,
                message_retention_seconds=args.retention_seconds,
                sqs_managed_sse_enabled=True,
                opts=child,
            )
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            name=args.queue_name,
            message_retention_seconds=args.retention_seconds,
            visibility_timeout_seconds=args.visibility_timeout_seconds,
            sqs_managed_sse_enabled=True,
            redrive_policy=dead_letters.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": args.max_receive_count})
            )
            if dead_letters
            else None,
            opts=child,
        )
        self.queue_url = self.queue.url
        self.queue_arn = self.queue.arn
        self.dead_letter_queue_url = dead_letters.url if dead_letters else None
        self.dead_letter_queue_arn = dead_letters.arn if dead_letters else None
        outputs: dict[str, pulumi.Output[str]] = {"queue_url": self.queue_url, "queue_arn": self.queue_arn}
        if dead_letters:
            outputs.update({"dead_letter_queue_url": dead_letters.url, "dead_letter_queue_arn": dead_letters.arn})
        self.register_outputs(outputs)
