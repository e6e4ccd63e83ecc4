"""The scheduled drift checker: reads back the replication paths and compares prod's replicated data with every
lower environment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.aliases import carry_over
from pipeline_infra.components.pipeline_function import PipelineFunction, PipelineFunctionArgs
from pipeline_infra.components.targets import Retries, failures_to_dead_letter_queue, invoke_permission, retry_policy
from pipeline_infra.function_environment import (
    CONFIG_TABLE_ENV,
    DATA_BUCKET_ENV,
    ENVIRONMENT_ENV,
    FAILURE_TOPIC_ARN_ENV,
    REPLICATION_PATHS_ENV,
    REPLICATION_PREFIXES_ENV,
    REPLICATION_TARGETS_ENV,
    REWRITE_IN_MEMORY_BYTES_ENV,
    REWRITE_MAX_BYTES_ENV,
    SUCCESS_TOPIC_ARN_ENV,
    VERBATIM_PREFIXES_ENV,
)
from pipeline_infra.policies import documents
from pipeline_infra.replication_paths import PIPE, RULE, arns_of_kind, paths_document

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipeline_infra.components.change_capture import ReplicationPath
    from pipeline_infra.components.pipeline_function import FunctionSpec
    from pipeline_infra.components.replication_source import ReplicationSource

TYPE_TOKEN = "pipeline-infra:replication:DriftChecker"
DEFAULT_REWRITE_IN_MEMORY_BYTES = 1024**2
DRIFT_CHECKER_HANDLER = "pipeline_functions.drift_checker.handler.lambda_handler"
# EventBridge's delivery retries of a scheduled run; the next run checks everything again anyway.
SCHEDULE_RETRIES = Retries(attempts=2, maximum_event_age_seconds=3600)


@dataclass(kw_only=True, frozen=True)
class DriftCheckerArgs:
    source: ReplicationSource
    """The source environment: identity, prefixes, artifact, storage, topics and DLQ."""
    function: FunctionSpec
    """Names, runtime and size of the drift checker."""
    targets_json: pulumi.Input[str]
    """REPLICATION_TARGETS, the replicator's own document, so both see the same targets."""
    writer_role_arns: Sequence[pulumi.Input[str]]
    """The targets' writer roles, assumed to read each target."""
    schedule_rule_name: str
    """Name of the EventBridge rule that runs the check."""
    schedule_expression: str
    """`rate(...)` or `cron(...)`."""
    rewrite_max_bytes: int
    """The largest document the replicator rewrites; the checker rewrites prod's copy the same way to compare."""
    rewrite_in_memory_bytes: int = DEFAULT_REWRITE_IN_MEMORY_BYTES
    """Documents up to this size are compared parsed whole, larger ones as streams."""
    verbatim_prefixes: Sequence[str] = ()
    """Where a marked verbatim copy is an approved difference rather than drift."""
    replication_paths: Sequence[ReplicationPath] = ()
    """The rules and the Pipe feeding the replicator (`ChangeCapture.replication_paths`): each run reads them back
    and reports one that is switched off or lost its target; the role may describe these and no others."""


class DriftChecker(pulumi.ComponentResource):
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    schedule_rule_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DriftCheckerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        child = pulumi.ResourceOptions(parent=self)
        source, prefixes = args.source, list(args.source.prefixes)
        paths = pulumi.Output.all(*[_describe_path(path) for path in args.replication_paths])
        statements = pulumi.Output.all(
            bucket=source.bucket_arn,
            table=source.config_table_arn,
            success=source.success_topic_arn,
            failure=source.failure_topic_arn,
            dlq=source.dlq_arn,
            writers=pulumi.Output.all(*args.writer_role_arns),
            paths=paths,
        ).apply(
            lambda a: documents.drift_checker(
                a["bucket"],
                a["table"],
                writer_role_arns=list(a["writers"]),
                topic_arns=[a["success"], a["failure"]],
                prefixes=prefixes,
                dlq_arn=a["dlq"],
                rule_arns=arns_of_kind(a["paths"], RULE),
                pipe_arns=arns_of_kind(a["paths"], PIPE),
            )
        )
        function_args = PipelineFunctionArgs(
            spec=args.function,
            handler=DRIFT_CHECKER_HANDLER,
            code_path=source.code_path,
            environment={
                ENVIRONMENT_ENV: source.environment,
                DATA_BUCKET_ENV: source.bucket_name,
                CONFIG_TABLE_ENV: source.config_table_name,
                REPLICATION_TARGETS_ENV: args.targets_json,
                REPLICATION_PREFIXES_ENV: json.dumps(prefixes),
                SUCCESS_TOPIC_ARN_ENV: source.success_topic_arn,
                FAILURE_TOPIC_ARN_ENV: source.failure_topic_arn,
                REWRITE_MAX_BYTES_ENV: str(args.rewrite_max_bytes),
                REWRITE_IN_MEMORY_BYTES_ENV: str(args.rewrite_in_memory_bytes),
                VERBATIM_PREFIXES_ENV: json.dumps(list(args.verbatim_prefixes)),
                REPLICATION_PATHS_ENV: paths.apply(lambda p: paths_document(list(p))),
            },
            statements=statements,
        )
        self.function = PipelineFunction(f"{name}-function", function_args, opts=child)
        failures_to_dead_letter_queue(
            f"{name}-async", self.function.function_name, source.async_retries, source.dlq_arn, child
        )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-schedule", name=args.schedule_rule_name, schedule_expression=args.schedule_expression, opts=child
        )
        aws.cloudwatch.EventTarget(
            f"{name}-schedule-target",
            rule=self.rule.name,
            target_id="drift-checker",
            arn=self.function.function_arn,
            retry_policy=retry_policy(SCHEDULE_RETRIES),
            # A run EventBridge cannot deliver lands where `pipeline-infra redrive` finds it, like every async path.
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=source.dlq_arn),
            input=json.dumps({"source": "pipeline-infra.drift-schedule"}),
            opts=child,
        )
        invoke_permission(f"{name}-schedule-invoke", self.function.function_name, self.rule.arn, child)
        self.function_name = self.function.function_name
        self.function_arn = self.function.function_arn
        self.schedule_rule_arn = self.rule.arn
        self.register_outputs(
            {
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "schedule_rule_arn": self.schedule_rule_arn,
            }
        )


def _describe_path(path: ReplicationPath) -> pulumi.Output[dict[str, Any]]:
    def describe(values: list[Any]) -> dict[str, Any]:
        return {"kind": path.kind, "name": values[0], "arn": values[1], "target_arns": list(values[2:])}

    return pulumi.Output.all(path.name, path.arn, *path.target_arns).apply(describe)
