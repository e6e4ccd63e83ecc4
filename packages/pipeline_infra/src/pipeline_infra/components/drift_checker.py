"""The scheduled drift checker: compares prod's replicated data with every lower environment."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.pipeline_function import PipelineFunction, PipelineFunctionArgs
from pipeline_infra.components.targets import invoke_permission, retry_policy
from pipeline_infra.policies import documents

DRIFT_CHECKER_HANDLER = "pipeline_functions.drift_checker.handler.lambda_handler"


@dataclass
class DriftCheckerArgs:
    function: PipelineFunctionArgs
    schedule: str
    rule_name: str
    bucket_arn: pulumi.Input[str]
    config_table_arn: pulumi.Input[str]
    writer_role_arns: list[pulumi.Input[str]]
    topic_arns: list[pulumi.Input[str]]
    prefixes: list[str]


class DriftChecker(pulumi.ComponentResource):
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    schedule_rule_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DriftCheckerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipeline-infra:replication:DriftChecker", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        args.function.statements = pulumi.Output.all(
            args.bucket_arn, args.config_table_arn, *args.topic_arns, *args.writer_role_arns
        ).apply(
            lambda a: documents.drift_checker(
                a[0],
                a[1],
                writer_role_arns=list(a[2 + len(args.topic_arns) :]),
                topic_arns=list(a[2 : 2 + len(args.topic_arns)]),
                prefixes=args.prefixes,
            )
        )
        self.function = PipelineFunction(f"{name}-function", args.function, opts=child)
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-schedule", name=args.rule_name, schedule_expression=args.schedule, opts=child
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
