"""The replicator Lambda: idempotency table, least-privilege role, async retries and an on-failure DLQ."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

from pipeline_infra.components.aliases import carry_over
from pipeline_infra.components.pipeline_function import PipelineFunction, PipelineFunctionArgs
from pipeline_infra.components.pipeline_table import PipelineTable, PipelineTableArgs
from pipeline_infra.components.targets import failures_to_dead_letter_queue
from pipeline_infra.function_environment import (
    ASYNC_MAX_ATTEMPTS_ENV,
    CONFIG_TABLE_ENV,
    DATA_BUCKET_ENV,
    DEAD_LETTER_QUEUE_URL_ENV,
    ENVIRONMENT_ENV,
    FAILURE_TOPIC_ARN_ENV,
    IDEMPOTENCY_TABLE_ENV,
    IDEMPOTENCY_TTL_SECONDS_ENV,
    MULTIPART_THRESHOLD_BYTES_ENV,
    PROPAGATE_DELETES_ENV,
    REPLICATION_PREFIXES_ENV,
    REPLICATION_TARGETS_ENV,
    REWRITE_IN_MEMORY_BYTES_ENV,
    REWRITE_MAX_BYTES_ENV,
    SUCCESS_TOPIC_ARN_ENV,
    VERBATIM_PREFIXES_ENV,
)
from pipeline_infra.policies import documents
from pipeline_infra.replication_targets import targets_document

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pipeline_infra.components.pipeline_function import FunctionSpec
    from pipeline_infra.components.pipeline_table import TableBilling
    from pipeline_infra.components.replication_source import ReplicationSource

TYPE_TOKEN = "pipeline-infra:replication:Replicator"
# Equal to pipeline_functions.constants.DEFAULT_REWRITE_IN_MEMORY_BYTES (the library cannot import it).
DEFAULT_REWRITE_IN_MEMORY_BYTES = 1024**2
REPLICATOR_HANDLER = "pipeline_functions.replicator.handler.lambda_handler"


@dataclass(kw_only=True, frozen=True)
class ReplicationTarget:
    """One lower environment, from its storage stack's outputs."""

    environment: str
    """Name of the target environment."""
    bucket_name: pulumi.Input[str]
    """The target's data bucket."""
    bucket_arn: pulumi.Input[str]
    """ARN of the target's data bucket."""
    config_table_name: pulumi.Input[str]
    """The target's config table."""
    writer_role_arn: pulumi.Input[str]
    """The role in the target the replicator assumes to write and the drift checker to read."""
    region: str
    """The target's region."""
    account_id: str
    """The target's AWS account."""
    name_token: pulumi.Input[str]
    """`-{env}-{suffix}` of the target, replacing the source's in replicas."""
    overlay: Mapping[str, Any] = field(default_factory=dict)
    """Values merged into the target's replicas after identifiers are rewritten."""
    external_id: str | None = None
    """What the writer role's trust requires as sts:ExternalId, if anything."""


@dataclass(kw_only=True, frozen=True)
class ReplicatorArgs:
    source: ReplicationSource
    """The source environment: identity, prefixes, artifact, storage, topics and DLQ."""
    targets: Sequence[ReplicationTarget]
    """Every environment that receives the source's configuration."""
    function: FunctionSpec
    """Names, runtime and size of the replicator."""
    idempotency_table_name: str
    """Physical name of the idempotency table."""
    idempotency_billing: TableBilling
    """Billing of the idempotency table."""
    idempotency_ttl_seconds: int
    """How long a processed event is remembered."""
    propagate_deletes: bool
    """Replicate deletions too."""
    multipart_threshold_bytes: int
    """Objects above this size are copied part by part."""
    rewrite_max_bytes: int
    """Documents above this size are refused (dead-lettered), never copied unrewritten."""
    rewrite_in_memory_bytes: int = DEFAULT_REWRITE_IN_MEMORY_BYTES
    """Documents up to this size are parsed whole; larger ones are rewritten as a stream."""
    verbatim_prefixes: Sequence[str] = ()
    """Prefixes whose documents are copied verbatim, and marked so, when they cannot be rewritten."""


class Replicator(pulumi.ComponentResource):
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    idempotency_table_name: pulumi.Output[str]
    targets_json: pulumi.Output[str]

    def __init__(self, name: str, args: ReplicatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        child = pulumi.ResourceOptions(parent=self)
        source, prefixes = args.source, list(args.source.prefixes)
        self.idempotency = PipelineTable(
            f"{name}-idempotency",
            PipelineTableArgs(
                table_name=args.idempotency_table_name,
                hash_key="id",
                billing=args.idempotency_billing,
                ttl_attribute="expiration",
            ),
            opts=child,
        )
        self.targets_json = self._targets_json(args)
        writer_arns = [t.writer_role_arn for t in args.targets]
        self.function = PipelineFunction(
            f"{name}-function",
            PipelineFunctionArgs(
                spec=args.function,
                handler=REPLICATOR_HANDLER,
                code_path=source.code_path,
                environment={
                    ENVIRONMENT_ENV: source.environment,
                    DATA_BUCKET_ENV: source.bucket_name,
                    CONFIG_TABLE_ENV: source.config_table_name,
                    IDEMPOTENCY_TABLE_ENV: self.idempotency.table_name,
                    IDEMPOTENCY_TTL_SECONDS_ENV: str(args.idempotency_ttl_seconds),
                    SUCCESS_TOPIC_ARN_ENV: source.success_topic_arn,
                    FAILURE_TOPIC_ARN_ENV: source.failure_topic_arn,
                    REPLICATION_TARGETS_ENV: self.targets_json,
                    REPLICATION_PREFIXES_ENV: json.dumps(prefixes),
                    PROPAGATE_DELETES_ENV: str(args.propagate_deletes).lower(),
                    MULTIPART_THRESHOLD_BYTES_ENV: str(args.multipart_threshold_bytes),
                    REWRITE_MAX_BYTES_ENV: str(args.rewrite_max_bytes),
                    REWRITE_IN_MEMORY_BYTES_ENV: str(args.rewrite_in_memory_bytes),
                    VERBATIM_PREFIXES_ENV: json.dumps(list(args.verbatim_prefixes)),
                    ASYNC_MAX_ATTEMPTS_ENV: str(source.async_retries.attempts + 1),
                    **({DEAD_LETTER_QUEUE_URL_ENV: source.dlq_url} if source.dlq_url is not None else {}),
                },
                statements=pulumi.Output.all(
                    source.bucket_arn,
                    source.config_table_arn,
                    self.idempotency.table_arn,
                    source.success_topic_arn,
                    source.failure_topic_arn,
                    source.dlq_arn,
                    *writer_arns,
                ).apply(
                    lambda a: documents.replicator(
                        source_bucket_arn=a[0],
                        source_table_arn=a[1],
                        idempotency_table_arn=a[2],
                        topic_arns=[a[3], a[4]],
                        dlq_arn=a[5],
                        writer_role_arns=list(a[6:]),
                        prefixes=prefixes,
                    )
                ),
            ),
            opts=child,
        )
        failures_to_dead_letter_queue(
            f"{name}-async", self.function.function_name, source.async_retries, source.dlq_arn, child
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
        source = args.source
        resolved = [_describe_target(t) for t in args.targets]
        return pulumi.Output.all(source.bucket_name, *resolved).apply(
            lambda v: targets_document(
                str(v[0]),
                source.name_token,
                source.account_id,
                source.region,
                list(v[1:]),
                external_id=next((t.external_id for t in args.targets if t.external_id), None),
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
