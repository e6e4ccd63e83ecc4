"""A Lambda function with its own log group (created first), least-privilege role and settings-driven config."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from pipeline_infra.policies import documents

if TYPE_CHECKING:
    from pipeline_infra.settings import FunctionSettings, FunctionsSettings

POWERTOOLS_NAMESPACE = "PipelineInfra"


@dataclass
class PipelineFunctionArgs:
    function_name: str
    role_name: str
    handler: str
    code_path: str
    function: FunctionSettings
    common: FunctionsSettings
    environment: pulumi.Input[dict[str, pulumi.Input[str]]] = field(default_factory=dict)
    # Statements beyond logging and tracing; their resources may be Outputs, resolved before serialising.
    statements: pulumi.Input[list[dict[str, Any]]] = field(default_factory=list)


class PipelineFunction(pulumi.ComponentResource):
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: PipelineFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipeline-infra:processing:PipelineFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Created explicitly (not by Lambda on first write) so retention and tags are ours and destroy removes it.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{args.function_name}",
            retention_in_days=args.common.log_retention_days,
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            assume_role_policy=json.dumps(documents.service_trust("lambda.amazonaws.com")),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name=f"{args.function_name}-policy",
            role=self.role.id,
            policy=pulumi.Output.all(self.log_group.arn, args.statements).apply(
                lambda values: json.dumps(self._policy(values[0], values[1], args.common.tracing))
            ),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=args.function_name,
            role=self.role.arn,
            runtime=args.common.runtime,
            architectures=[args.common.architecture],
            handler=args.handler,
            code=pulumi.FileArchive(args.code_path),
            memory_size=args.function.memory_mb,
            timeout=args.function.timeout_seconds,
            reserved_concurrent_executions=args.function.reserved_concurrency,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(
                mode="Active" if args.common.tracing else "PassThrough"
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=self.log_group.name),
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables=pulumi.Output.from_input(args.environment).apply(
                    lambda env: {**self._powertools(args), **args.common.environment, **env}
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, policy]),
        )
        self.function_name = self.function.name
        self.function_arn = self.function.arn
        self.role_arn = self.role.arn
        self.register_outputs(
            {"function_name": self.function_name, "function_arn": self.function_arn, "role_arn": self.role_arn}
        )

    @staticmethod
    def _policy(log_group_arn: str, statements: list[dict[str, Any]], tracing: bool) -> documents.PolicyDocument:
        extra = documents.tracing() if tracing else []
        return documents.document(*documents.function_logging(log_group_arn), *extra, *statements)

    @staticmethod
    def _powertools(args: PipelineFunctionArgs) -> dict[str, str]:
        return {
            "POWERTOOLS_SERVICE_NAME": args.function_name,
            "POWERTOOLS_METRICS_NAMESPACE": POWERTOOLS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": args.common.log_level,
            "POWERTOOLS_TRACE_DISABLED": "false" if args.common.tracing else "true",
        }
