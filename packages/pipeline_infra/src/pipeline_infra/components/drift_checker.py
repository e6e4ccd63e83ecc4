"""The scheduled drift checker: compares prod's replicated data with every lower environment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.pipeline_function import PipelineFunction, PipelineFunctionArgs
from pipeline_infra.components.targets import failures_to_dead_letter_queue, invoke_permission, retry_policy
from pipeline_infra.policies import documents

if TYPE_CHECKING:
    from pipeline_infra.components.replication_source import ReplicationSource

DRIFT_CHECKER_HANDLER = "pipeline_functions.drift_checker.handler.lambda_handler"


@dataclass
class DriftCheckerArgs:
    source: ReplicationSource
    targets_json: pulumi.Input[str]
    writer_role_arns: list[pulumi.Input[str]]


class DriftChecker(pulumi.ComponentResource):
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    schedule_rule_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DriftCheckerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipeline-infra:replication:DriftChecker", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefixes = args.source.env.replication.prefixes
        statements = pulumi.Output.all(
            args.source.bucket_arn,
            args.source.config_table_arn,
            args.source.success_topic_arn,
            args.source.failure_topic_arn,
            args.source.dlq_arn,
            *args.writer_role_arns,
        ).apply(
            lambda a: documents.drift_checker(
                a[0], a[1], writer_role_arns=list(a[5:]), topic_arns=[a[2], a[3]], prefixes=prefixes, dlq_arn=a[4]
            )
        )
        function_args = PipelineFunctionArgs(
            function_name=args.source.names.function("drift-checker"),
            role_name=args.source.names.role("drift-checker"),
            handler=DRIFT_CHECKER_HANDLER,
            code_path=args.source.code_path,
            function=args.source.env.functions.drift_checker,
            common=args.source.env.functions,
            environment={
                "PIPELINE_ENVIRONMENT": args.source.env.name,
                "DATA_BUCKET": args.source.bucket_name,
                "CONFIG_TABLE": args.source.config_table_name,
                "REPLICATION_TARGETS": args.targets_json,
                "REPLICATION_PREFIXES": json.dumps(prefixes),
                "SUCCESS_TOPIC_ARN": args.source.success_topic_arn,
                "FAILURE_TOPIC_ARN": args.source.failure_topic_arn,
            },
            statements=statements,
        )
        self.function = PipelineFunction(f"{name}-function", function_args, opts=child)
        failures_to_dead_letter_queue(
            f"{name}-async", self.function.function_name, args.source.env.replication, args.source.dlq_arn, child
        )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-schedule",
            name=args.source.names.rule("drift-schedule"),
            schedule_expression=args.source.env.replication.drift_schedule,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-schedule-target",
            rule=self.rule.name,
            target_id="drift-checker",
            arn=self.function.function_arn,
            retry_policy=retry_policy(2, 3600),
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
