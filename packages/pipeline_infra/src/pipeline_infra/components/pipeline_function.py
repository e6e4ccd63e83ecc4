"""A Lambda function with its own log group (created first), least-privilege role and settings-driven config."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.aliases import carry_over
from pipeline_infra.function_environment import (
    METRICS_NAMESPACE,
    POWERTOOLS_LOG_LEVEL_ENV,
    POWERTOOLS_METRICS_NAMESPACE_ENV,
    POWERTOOLS_SERVICE_NAME_ENV,
    POWERTOOLS_TRACE_DISABLED_ENV,
)
from pipeline_infra.policies import documents

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pipeline_infra.components.vpc_placement import VpcPlacement

TYPE_TOKEN = "pipeline-infra:shared:PipelineFunction"


@dataclass(kw_only=True, frozen=True)
class FunctionSpec:
    """What settings decide about one function: its names, runtime, size, tracing and logging."""

    function_name: str
    """Physical name of the function; its log group is `/aws/lambda/<function_name>`."""
    role_name: str
    """Name of the function's execution role."""
    runtime: str
    """Lambda runtime identifier, e.g. `python3.12`."""
    architecture: str
    """`x86_64` or `arm64`."""
    memory_mb: int
    """Memory size in MB."""
    timeout_seconds: int
    """Timeout in seconds."""
    reserved_concurrency: int | None = None
    """Reserved concurrent executions; None leaves the function on the account's unreserved pool."""
    tracing: bool = False
    """X-Ray active tracing (and the trace upload permission)."""
    log_retention_days: int
    """Retention of the function's log group."""
    log_level: str
    """POWERTOOLS_LOG_LEVEL."""
    extra_environment: Mapping[str, str] = field(default_factory=dict)
    """Variables from settings for every function; the component's own variables win over them."""
    vpc: VpcPlacement | None = None
    """The subnets and security groups of the environment's VPC; None runs the function outside any VPC."""


@dataclass(kw_only=True, frozen=True)
class PipelineFunctionArgs:
    spec: FunctionSpec
    """Names, runtime, size, tracing and logging of the function."""
    handler: str
    """Handler path, `pipeline_functions.<feature>.handler.lambda_handler`."""
    code_path: str
    """Path of the function artifact (a zip)."""
    environment: pulumi.Input[Mapping[str, pulumi.Input[str]]] = field(default_factory=dict)
    """Variables the handler reads, by the names in `pipeline_infra.function_environment`."""
    statements: pulumi.Input[Sequence[dict[str, Any]]] = ()
    """Statements beyond logging and tracing; their resources may be Outputs, resolved before serialising."""


class PipelineFunction(pulumi.ComponentResource):
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: PipelineFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        child = pulumi.ResourceOptions(parent=self)
        spec = args.spec
        # Created explicitly (not by Lambda on first write) so retention and tags are ours and destroy removes it.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{spec.function_name}",
            retention_in_days=spec.log_retention_days,
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=spec.role_name,
            assume_role_policy=json.dumps(documents.service_trust("lambda.amazonaws.com")),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name=f"{spec.function_name}-policy",
            role=self.role.id,
            policy=pulumi.Output.all(
                self.log_group.arn, args.statements, spec.vpc.statements() if spec.vpc else []
            ).apply(lambda values: json.dumps(self._policy(values[0], [*values[2], *values[1]], spec.tracing))),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=spec.function_name,
            role=self.role.arn,
            runtime=spec.runtime,
            architectures=[spec.architecture],
            handler=args.handler,
            code=pulumi.FileArchive(args.code_path),
            memory_size=spec.memory_mb,
            timeout=spec.timeout_seconds,
            reserved_concurrent_executions=spec.reserved_concurrency,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active" if spec.tracing else "PassThrough"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=self.log_group.name),
            vpc_config=spec.vpc.vpc_config() if spec.vpc else None,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables=pulumi.Output.from_input(args.environment).apply(
                    lambda env: {**self._powertools(spec), **spec.extra_environment, **env}
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
    def _powertools(spec: FunctionSpec) -> dict[str, str]:
        return {
            POWERTOOLS_SERVICE_NAME_ENV: spec.function_name,
            POWERTOOLS_METRICS_NAMESPACE_ENV: METRICS_NAMESPACE,
            POWERTOOLS_LOG_LEVEL_ENV: spec.log_level,
            POWERTOOLS_TRACE_DISABLED_ENV: "false" if spec.tracing else "true",
        }
