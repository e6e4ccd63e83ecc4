"""The validator (S3 raw/ uploads via EventBridge) and the task processor (SQS, partial batch failures)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.aliases import carry_over
from pipeline_infra.components.pipeline_function import PipelineFunction, PipelineFunctionArgs
from pipeline_infra.components.targets import failures_to_dead_letter_queue, invoke_permission, retry_policy
from pipeline_infra.function_environment import (
    DATA_BUCKET_ENV,
    ENVIRONMENT_ENV,
    FAILURE_TOPIC_ARN_ENV,
    METADATA_TABLE_ENV,
    SUCCESS_TOPIC_ARN_ENV,
    TASK_QUEUE_URL_ENV,
)
from pipeline_infra.function_events import OBJECT_CREATED, S3_EVENT_SOURCE
from pipeline_infra.policies import documents

if TYPE_CHECKING:
    from pipeline_infra.components.pipeline_function import FunctionSpec
    from pipeline_infra.components.targets import Retries

TYPE_TOKEN = "pipeline-infra:processing:Processing"
VALIDATOR_HANDLER = "pipeline_functions.validator.handler.lambda_handler"
TASK_PROCESSOR_HANDLER = "pipeline_functions.task_processor.handler.lambda_handler"


def raw_upload_pattern(bucket_name: str) -> dict[str, object]:
    return {
        "source": [S3_EVENT_SOURCE],
        "detail-type": [OBJECT_CREATED],
        "detail": {"bucket": {"name": [bucket_name]}, "object": {"key": [{"prefix": "raw/"}]}},
    }


@dataclass(kw_only=True, frozen=True)
class ProcessingArgs:
    environment: str
    """Name of this environment, given to both functions."""
    code_path: str
    """Path of the function artifact (a zip)."""
    validator: FunctionSpec
    """Names, runtime and size of the validator."""
    task_processor: FunctionSpec
    """Names, runtime and size of the task processor."""
    raw_upload_rule_name: str
    """Name of the EventBridge rule that sends raw/ uploads to the validator."""
    rule_retries: Retries
    """EventBridge's delivery retries to the validator, before the task DLQ."""
    async_retries: Retries
    """Lambda's asynchronous retries of the validator, before the task DLQ."""
    task_batch_size: int
    """Messages per task processor invocation."""
    bucket_name: pulumi.Input[str]
    """This environment's data bucket."""
    bucket_arn: pulumi.Input[str]
    """ARN of the data bucket."""
    metadata_table_name: pulumi.Input[str]
    """The metadata table both functions write."""
    metadata_table_arn: pulumi.Input[str]
    """ARN of the metadata table."""
    task_queue_url: pulumi.Input[str]
    """The task queue the validator fills and the task processor drains."""
    task_queue_arn: pulumi.Input[str]
    """ARN of the task queue."""
    task_dlq_arn: pulumi.Input[str]
    """Where validator events that still fail land."""
    task_dlq_url: pulumi.Input[str] | None = None
    """URL of that queue: its policy lets the raw-uploads rule send events it could not deliver."""
    success_topic_arn: pulumi.Input[str]
    """Topic for successful outcomes."""
    failure_topic_arn: pulumi.Input[str]
    """Topic for failures."""


class Processing(pulumi.ComponentResource):
    validator_function_name: pulumi.Output[str]
    validator_function_arn: pulumi.Output[str]
    task_processor_function_name: pulumi.Output[str]
    task_processor_function_arn: pulumi.Output[str]
    raw_upload_rule_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ProcessingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        child = pulumi.ResourceOptions(parent=self)
        environment = {
            ENVIRONMENT_ENV: args.environment,
            DATA_BUCKET_ENV: args.bucket_name,
            METADATA_TABLE_ENV: args.metadata_table_name,
            TASK_QUEUE_URL_ENV: args.task_queue_url,
            SUCCESS_TOPIC_ARN_ENV: args.success_topic_arn,
            FAILURE_TOPIC_ARN_ENV: args.failure_topic_arn,
        }
        topics = [args.success_topic_arn, args.failure_topic_arn]
        self.validator = PipelineFunction(
            f"{name}-validator",
            PipelineFunctionArgs(
                spec=args.validator,
                handler=VALIDATOR_HANDLER,
                code_path=args.code_path,
                environment=environment,
                statements=pulumi.Output.all(
                    args.bucket_arn, args.metadata_table_arn, args.task_queue_arn, args.task_dlq_arn, *topics
                ).apply(
                    lambda a: [
                        *documents.validator(a[0], a[1], a[2], list(a[4:])),
                        documents.statement("FailedEventsToDeadLetterQueue", ["sqs:SendMessage"], [a[3]]),
                    ]
                ),
            ),
            opts=child,
        )
        self.task_processor = PipelineFunction(
            f"{name}-task-processor",
            PipelineFunctionArgs(
                spec=args.task_processor,
                handler=TASK_PROCESSOR_HANDLER,
                code_path=args.code_path,
                environment=environment,
                statements=pulumi.Output.all(args.task_queue_arn, args.metadata_table_arn, *topics).apply(
                    lambda a: documents.task_processor(a[0], a[1], list(a[2:]))
                ),
            ),
            opts=child,
        )
        self._create_validator_trigger(name, args, child)
        aws.lambda_.EventSourceMapping(
            f"{name}-task-source",
            event_source_arn=args.task_queue_arn,
            function_name=self.task_processor.function_arn,
            batch_size=args.task_batch_size,
            function_response_types=["ReportBatchItemFailures"],
            opts=child,
        )
        self.validator_function_name = self.validator.function_name
        self.validator_function_arn = self.validator.function_arn
        self.task_processor_function_name = self.task_processor.function_name
        self.task_processor_function_arn = self.task_processor.function_arn
        self.raw_upload_rule_arn = self.rule.arn
        self.register_outputs(
            {
                "validator_function_name": self.validator_function_name,
                "validator_function_arn": self.validator_function_arn,
                "task_processor_function_name": self.task_processor_function_name,
                "task_processor_function_arn": self.task_processor_function_arn,
                "raw_upload_rule_arn": self.raw_upload_rule_arn,
            }
        )

    def _create_validator_trigger(self, name: str, args: ProcessingArgs, child: pulumi.ResourceOptions) -> None:
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-raw-uploads",
            name=args.raw_upload_rule_name,
            description="Object uploads under raw/ of this environment's data bucket",
            event_pattern=pulumi.Output.from_input(args.bucket_name).apply(lambda b: json.dumps(raw_upload_pattern(b))),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-raw-uploads-target",
            rule=self.rule.name,
            target_id="validator",
            arn=self.validator.function_arn,
            retry_policy=retry_policy(args.rule_retries),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=args.task_dlq_arn),
            opts=child,
        )
        invoke_permission(f"{name}-raw-uploads-invoke", self.validator.function_name, self.rule.arn, child)
        if args.task_dlq_url is not None:
            # Without it EventBridge drops what it cannot deliver: only a CloudWatch metric would say so.
            aws.sqs.QueuePolicy(
                f"{name}-task-dlq-policy",
                queue_url=args.task_dlq_url,
                policy=pulumi.Output.all(args.task_dlq_arn, self.rule.arn).apply(
                    lambda a: json.dumps(documents.dead_letter_queue(a[0], [a[1]]))
                ),
                opts=child,
            )
        failures_to_dead_letter_queue(
            f"{name}-validator-async", self.validator.function_name, args.async_retries, args.task_dlq_arn, child
        )
