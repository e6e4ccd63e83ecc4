"""The replicator Lambda: idempotency table, least-privilege role, async retries and an on-failure DLQ."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

from pipeline_infra.components.pipeline_function import PipelineFunction, PipelineFunctionArgs
from pipeline_infra.components.pipeline_table import PipelineTable, PipelineTableArgs
from pipeline_infra.components.targets import failures_to_dead_letter_queue
from pipeline_infra.policies import documents
from pipeline_infra.replication_targets import targets_document

if TYPE_CHECKING:
    from pipeline_infra.components.replication_source import ReplicationSource

REPLICATOR_HANDLER = "pipeline_functions.replicator.handler.lambda_handler"


@dataclass
class ReplicationTarget:
    """One lower environment, from its storage stack's outputs."""

    environment: str
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    config_table_name: pulumi.Input[str]
    writer_role_arn: pulumi.Input[str]
    region: str
    account_id: str
    name_token: pulumi.Input[str]
    overlay: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReplicatorArgs:
    source: ReplicationSource
    targets: list[ReplicationTarget]


class Replicator(pulumi.ComponentResource):
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    idempotency_table_name: pulumi.Output[str]
    targets_json: pulumi.Output[str]

    def __init__(self, name: str, args: ReplicatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipeline-infra:replication:Replicator", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        replication = args.source.env.replication
        self.idempotency = PipelineTable(
            f"{name}-idempotency",
            PipelineTableArgs(
                table_name=args.source.names.idempotency_table,
                hash_key="id",
                billing=args.source.env.storage.config_table.billing,
                ttl_attribute="expiration",
            ),
            opts=child,
        )
        self.targets_json = self._targets_json(args)
        writer_arns = [t.writer_role_arn for t in args.targets]
        self.function = PipelineFunction(
            f"{name}-function",
            PipelineFunctionArgs(
                function_name=args.source.names.function("replicator"),
                role_name=args.source.names.role("replicator"),
                handler=REPLICATOR_HANDLER,
                code_path=args.source.code_path,
                function=args.source.env.functions.replicator,
                common=args.source.env.functions,
                environment={
                    "PIPELINE_ENVIRONMENT": args.source.env.name,
                    "DATA_BUCKET": args.source.bucket_name,
                    "CONFIG_TABLE": args.source.config_table_name,
                    "IDEMPOTENCY_TABLE": self.idempotency.table_name,
                    "IDEMPOTENCY_TTL_SECONDS": str(replication.idempotency_ttl_seconds),
                    "SUCCESS_TOPIC_ARN": args.source.success_topic_arn,
                    "FAILURE_TOPIC_ARN": args.source.failure_topic_arn,
                    "REPLICATION_TARGETS": self.targets_json,
                    "REPLICATION_PREFIXES": json.dumps(replication.prefixes),
                    "PROPAGATE_DELETES": str(replication.propagate_deletes).lower(),
                    "MULTIPART_THRESHOLD_BYTES": str(replication.multipart_threshold_bytes),
                    "REWRITE_MAX_BYTES": str(replication.rewrite_max_bytes),
                },
                statements=pulumi.Output.all(
                    args.source.bucket_arn,
                    args.source.config_table_arn,
                    self.idempotency.table_arn,
                    args.source.success_topic_arn,
                    args.source.failure_topic_arn,
                    args.source.dlq_arn,
                    *writer_arns,
                ).apply(
                    lambda a: documents.replicator(
                        source_bucket_arn=a[0],
                        source_table_arn=a[1],
                        idempotency_table_arn=a[2],
                        topic_arns=[a[3], a[4]],
                        dlq_arn=a[5],
                        writer_role_arns=list(a[6:]),
                        prefixes=replication.prefixes,
                    )
                ),
            ),
            opts=child,
        )
        failures_to_dead_letter_queue(
            f"{name}-async", self.function.function_name, replication, args.source.dlq_arn, child
        )
        self.function_name = self.function.function_name
        self.function_arn = self.function.function_arn
        self.role_arn = self.function.role_arn
        self.idempotency_table_name = self.idempotency.table_name
        self.register_outputs(
            {
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "role_arn": self.role_arn,
                "idempotency_table_name": self.idempotency_table_name,
                "targets_json": self.targets_json,
            }
        )

    @staticmethod
    def _targets_json(args: ReplicatorArgs) -> pulumi.Output[str]:
        source_token = args.source.names.name_token
        resolved = [_describe_target(t) for t in args.targets]
        return pulumi.Output.all(args.source.bucket_name, *resolved).apply(
            lambda v: targets_document(
                str(v[0]), source_token, args.source.env.account_id, args.source.env.region, list(v[1:])
            )
        )


def _describe_target(target: ReplicationTarget) -> pulumi.Output[dict[str, Any]]:
    def describe(values: list[Any]) -> dict[str, Any]:
        return {
            "environment": target.environment,
            "bucket": values[0],
            "config_table": values[1],
            "writer_role_arn": values[2],
            "region": target.region,
            "account_id": target.account_id,
            "name_token": values[3],
            "overlay": target.overlay,
        }

    return pulumi.Output.all(
        target.bucket_name, target.config_table_name, target.writer_role_arn, target.name_token
    ).apply(describe)
