"""Capture of prod changes: S3 object events and config-table stream records (via an EventBridge Pipe),
routed by rules that match the source environment only, to the replicator with retries and a DLQ."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.aliases import carry_over
from pipeline_infra.components.targets import invoke_permission, retry_policy
from pipeline_infra.function_events import (
    CONFIG_CHANGE_DETAIL_TYPE,
    CONFIG_CHANGE_SOURCE,
    OBJECT_CREATED,
    OBJECT_DELETED,
    OBJECT_TAGS_ADDED,
    OBJECT_TAGS_DELETED,
    S3_EVENT_SOURCE,
)
from pipeline_infra.policies import documents
from pipeline_infra.replication_paths import PIPE, RULE

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipeline_infra.components.targets import Retries

TYPE_TOKEN = "pipeline-infra:replication:ChangeCapture"


def object_change_pattern(bucket_name: str, prefixes: Sequence[str]) -> dict[str, Any]:
    """S3 object created, deleted or retagged in the source bucket under the replicated prefixes, and nothing else."""
    return {
        "source": [S3_EVENT_SOURCE],
        "detail-type": [OBJECT_CREATED, OBJECT_DELETED, OBJECT_TAGS_ADDED, OBJECT_TAGS_DELETED],
        "detail": {"bucket": {"name": [bucket_name]}, "object": {"key": [{"prefix": p} for p in prefixes]}},
    }


def config_change_pattern(table_arn: str) -> dict[str, Any]:
    """Stream records of the source config table, as the Pipe puts them on the replication bus."""
    return {
        "source": [CONFIG_CHANGE_SOURCE],
        "detail-type": [CONFIG_CHANGE_DETAIL_TYPE],
        "detail": {"eventSourceARN": [{"prefix": f"{table_arn}/stream/"}]},
    }


@dataclass(kw_only=True, frozen=True)
class ReplicationPath:
    """A rule or the Pipe that carries source changes on, and where it must still deliver them."""

    kind: str
    """`rule` or `pipe` (`pipeline_infra.replication_paths`)."""
    name: pulumi.Input[str]
    """The rule's or the Pipe's name."""
    arn: pulumi.Input[str]
    """Its ARN: what the drift checker is allowed to describe."""
    target_arns: Sequence[pulumi.Input[str]]
    """What it must still deliver to: the replicator for a rule, the replication bus for the Pipe."""


@dataclass(kw_only=True, frozen=True)
class ChangeCaptureArgs:
    bus_name: str
    """Name of the replication bus the Pipe puts config table changes on."""
    pipe_name: str
    """Name of the Pipe from the config table's stream to the bus."""
    pipe_role_name: str
    """Name of the Pipe's role."""
    object_rule_name: str
    """Name of the rule for the source bucket's object changes (default bus)."""
    config_rule_name: str
    """Name of the rule for config table changes (replication bus)."""
    prefixes: Sequence[str]
    """Replicated key prefixes of the source bucket; changes elsewhere are not captured."""
    rule_retries: Retries
    """EventBridge's delivery retries to the replicator, before the DLQ."""
    bucket_name: pulumi.Input[str]
    """The source's data bucket."""
    config_table_arn: pulumi.Input[str]
    """ARN of the source's config table."""
    config_stream_arn: pulumi.Input[str]
    """ARN of the config table's stream."""
    replicator_function_name: pulumi.Input[str]
    """The replicator, allowed to be invoked by both rules."""
    replicator_function_arn: pulumi.Input[str]
    """ARN of the replicator, both rules' target."""
    dlq_arn: pulumi.Input[str]
    """Where events the replicator cannot be given land."""
    dlq_url: pulumi.Input[str]
    """URL of the DLQ, whose policy admits both rules."""
    dead_letter_rule_arns: Sequence[pulumi.Input[str]] = ()
    """Other rules whose targets dead-letter into the same queue (the drift schedule); the policy admits them."""


class ChangeCapture(pulumi.ComponentResource):
    """The bus, the Pipe and the rules; `replication_paths` lists them for the drift checker to read back."""

    bus_name: pulumi.Output[str]
    bus_arn: pulumi.Output[str]
    pipe_arn: pulumi.Output[str]
    object_rule_arn: pulumi.Output[str]
    config_rule_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ChangeCaptureArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        child = pulumi.ResourceOptions(parent=self)
        self.bus = aws.cloudwatch.EventBus(f"{name}-bus", name=args.bus_name, opts=child)
        self._create_pipe(name, args, child)
        self.object_rule = self._rule(
            name,
            "s3-changes",
            args.object_rule_name,
            args,
            child,
            pattern=pulumi.Output.from_input(args.bucket_name).apply(
                lambda b: json.dumps(object_change_pattern(b, list(args.prefixes)))
            ),
            bus=None,
        )
        self.config_rule = self._rule(
            name,
            "config-changes",
            args.config_rule_name,
            args,
            child,
            pattern=pulumi.Output.from_input(args.config_table_arn).apply(
                lambda a: json.dumps(config_change_pattern(a))
            ),
            bus=self.bus.name,
        )
        aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=args.dlq_url,
            policy=pulumi.Output.all(
                args.dlq_arn, self.object_rule.arn, self.config_rule.arn, *args.dead_letter_rule_arns
            ).apply(lambda a: json.dumps(documents.dead_letter_queue(a[0], list(a[1:])))),
            opts=child,
        )
        replicator = [args.replicator_function_arn]
        self.replication_paths = (
            ReplicationPath(kind=RULE, name=self.object_rule.name, arn=self.object_rule.arn, target_arns=replicator),
            ReplicationPath(kind=RULE, name=self.config_rule.name, arn=self.config_rule.arn, target_arns=replicator),
            ReplicationPath(kind=PIPE, name=self.pipe.name, arn=self.pipe.arn, target_arns=[self.bus.arn]),
        )
        self.bus_name = self.bus.name
        self.bus_arn = self.bus.arn
        self.pipe_arn = self.pipe.arn
        self.object_rule_arn = self.object_rule.arn
        self.config_rule_arn = self.config_rule.arn
        self.register_outputs(
            {
                "bus_name": self.bus_name,
                "bus_arn": self.bus_arn,
                "pipe_arn": self.pipe_arn,
                "object_rule_arn": self.object_rule_arn,
                "config_rule_arn": self.config_rule_arn,
            }
        )

    def _create_pipe(self, name: str, args: ChangeCaptureArgs, child: pulumi.ResourceOptions) -> None:
        role = aws.iam.Role(
            f"{name}-pipe-role",
            name=args.pipe_role_name,
            assume_role_policy=json.dumps(documents.service_trust("pipes.amazonaws.com")),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-pipe-policy",
            name=f"{args.pipe_role_name}-policy",
            role=role.id,
            policy=pulumi.Output.all(args.config_stream_arn, self.bus.arn, args.dlq_arn).apply(
                lambda a: json.dumps(documents.config_pipe(a[0], a[1], a[2]))
            ),
            opts=child,
        )
        self.pipe = aws.pipes.Pipe(
            f"{name}-pipe",
            name=args.pipe_name,
            role_arn=role.arn,
            source=args.config_stream_arn,
            source_parameters=aws.pipes.PipeSourceParametersArgs(
                dynamodb_stream_parameters=aws.pipes.PipeSourceParametersDynamodbStreamParametersArgs(
                    starting_position="LATEST",
                    batch_size=1,
                    maximum_retry_attempts=10,
                    # A record still failing after its retries goes to the DLQ, not away.
                    dead_letter_config=aws.pipes.PipeSourceParametersDynamodbStreamParametersDeadLetterConfigArgs(
                        arn=args.dlq_arn
                    ),
                )
            ),
            target=self.bus.arn,
            target_parameters=aws.pipes.PipeTargetParametersArgs(
                eventbridge_event_bus_parameters=aws.pipes.PipeTargetParametersEventbridgeEventBusParametersArgs(
                    source=CONFIG_CHANGE_SOURCE, detail_type=CONFIG_CHANGE_DETAIL_TYPE
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

    def _rule(
        self,
        name: str,
        purpose: str,
        rule_name: str,
        args: ChangeCaptureArgs,
        child: pulumi.ResourceOptions,
        pattern: pulumi.Output[str],
        bus: pulumi.Input[str] | None,
    ) -> aws.cloudwatch.EventRule:
        rule = aws.cloudwatch.EventRule(
            f"{name}-{purpose}",
            name=rule_name,
            event_bus_name=bus,
            event_pattern=pattern,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-{purpose}-target",
            rule=rule.name,
            event_bus_name=bus,
            target_id="replicator",
            arn=args.replicator_function_arn,
            retry_policy=retry_policy(args.rule_retries),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=args.dlq_arn),
            opts=child,
        )
        invoke_permission(f"{name}-{purpose}-invoke", args.replicator_function_name, rule.arn, child)
        return rule
