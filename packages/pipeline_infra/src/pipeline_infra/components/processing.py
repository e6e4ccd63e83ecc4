"""The validator (S3 raw/ uploads via EventBridge) and the task processor (SQS, partial batch failures)."""

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
    from pipeline_infra.naming import Names
    from pipeline_infra.settings import EnvironmentSettings

VALIDATOR_HANDLER = "pipeline_functions.validator.handler.lambda_handler"
TASK_PROCESSOR_HANDLER = "pipeline_functions.task_processor.handler.lambda_handler"


def raw_upload_pattern(bucket_name: str) -> dict[str, object]:
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket_name]}, "object": {"key": [{"prefix": "raw/"}]}},
    }


@dataclass
class ProcessingArgs:
    env: EnvironmentSettings
    names: Names
    code_path: str
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    metadata_table_name: pulumi.Input[str]
    metadata_table_arn: pulumi.Input[str]
    task_queue_url: pulumi.Input[str]
    task_queue_arn: pulumi.Input[str]
    task_dlq_arn: pulumi.Input[str]
    success_topic_arn: pulumi.Input[str]
    failure_topic_arn: pulumi.Input[str]


class Processing(pulumi.ComponentResource):
    validator_function_name: pulumi.Output[str]
    validator_function_arn: pulumi.Output[str]
    task_processor_function_name: pulumi.Output[str]
    task_processor_function_arn: pulumi.Output[str]
    raw_upload_rule_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ProcessingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipeline-infra:processing:Processing", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        environment = {
            "PIPELINE_ENVIRONMENT": args.env.name,
            "DATA_BUCKET": args.bucket_name,
            "METADATA_TABLE": args.metadata_table_name,
            "TASK_QUEUE_URL": args.task_queue_url,
            "SUCCESS_TOPIC_ARN": args.success_topic_arn,
            "FAILURE_TOPIC_ARN": args.failure_topic_arn,
        }
        topics = [args.success_topic_arn, args.failure_topic_arn]
        self.validator = PipelineFunction(
            f"{name}-validator",
            PipelineFunctionArgs(
                function_name=args.names.function("validator"),
                role_name=args.names.role("validator"),
                handler=VALIDATOR_HANDLER,
                code_path=args.code_path,
                function=args.env.functions.validator,
                common=args.env.functions,
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
                function_name=args.names.function("task-processor"),
                role_name=args.names.role("task-processor"),
                handler=TASK_PROCESSOR_HANDLER,
                code_path=args.code_path,
                function=args.env.functions.task_processor,
                common=args.env.functions,
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
            batch_size=args.env.notifications.task_batch_size,
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
            name=args.names.rule("raw-uploads"),
            description="Object uploads under raw/ of this environment's data bucket",
            event_pattern=pulumi.Output.from_input(args.bucket_name).apply(lambda b: json.dumps(raw_upload_pattern(b))),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-raw-uploads-target",
            rule=self.rule.name,
            target_id="validator",
            arn=self.validator.function_arn,
            retry_policy=retry_policy(
                args.env.replication.rule_retry_attempts, args.env.replication.rule_maximum_event_age_seconds
            ),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=args.task_dlq_arn),
            opts=child,
        )
        invoke_permission(f"{name}-raw-uploads-invoke", self.validator.function_name, self.rule.arn, child)
        failures_to_dead_letter_queue(
            f"{name}-validator-async", self.validator.function_name, args.env.replication, args.task_dlq_arn, child
        )
