"""Storage layer: the data bucket, the config and metadata tables, and (in replication targets) the writer role."""

from pipeline_infra.components import (
    DataBucket,
    DataBucketArgs,
    FunctionNetwork,
    PipelineTable,
    PipelineTableArgs,
    ReplicaWriterRole,
    ReplicaWriterRoleArgs,
    SecondaryIndex,
)
from pipeline_infra.context import LayerContext
from pipeline_infra.layers import (
    FUNCTION_SECURITY_GROUP_OUTPUT,
    NAME_SUFFIX_OUTPUT,
    REPLICA_WRITER_ROLE_ARN_OUTPUT,
    STORAGE,
)
from pipeline_infra.network_context import function_network_args

ctx = LayerContext.from_stack_config(STORAGE)
storage, names, opts, prefixes = ctx.env.storage, ctx.names, ctx.options(), ctx.settings.source.replication.prefixes
bucket = DataBucket("data", DataBucketArgs(
    bucket_name=names.bucket, raw_retention_days=storage.raw_retention_days, force_destroy=storage.force_destroy,
    noncurrent_version_expiration_days=storage.noncurrent_version_expiration_days,
    replica_reader_arns=ctx.replica_reader_arns(), replicated_prefixes=prefixes,
), opts)
config = PipelineTable("config", PipelineTableArgs(
    table_name=names.config_table, hash_key="pk", range_key="sk", stream=True,
    billing=ctx.table_billing(storage.config_table), point_in_time_recovery=storage.config_table.point_in_time_recovery,
), opts)
metadata = PipelineTable("metadata", PipelineTableArgs(
    table_name=names.metadata_table, hash_key="pk", billing=ctx.table_billing(storage.metadata_table),
    indexes=[SecondaryIndex(name="timestamp-index", hash_key="dataset", range_key="timestamp")],
    point_in_time_recovery=storage.metadata_table.point_in_time_recovery,
), opts)
ctx.export({
    "environment": ctx.env.name, "region": ctx.env.region, "account_id": ctx.env.account_id,
    NAME_SUFFIX_OUTPUT: names.suffix, "bucket_name": bucket.bucket_name, "bucket_arn": bucket.bucket_arn,
    "config_table_name": config.table_name, "config_table_arn": config.table_arn,
    "config_table_stream_arn": config.stream_arn,
    "metadata_table_name": metadata.table_name, "metadata_table_arn": metadata.table_arn,
})

if ctx.env.name in ctx.settings.source.replication.targets:
    writer = ReplicaWriterRole("replica-writer", ReplicaWriterRoleArgs(
        role_name=names.role("replica-writer"), bucket_arn=bucket.bucket_arn, table_arn=config.table_arn,
        trusted_role_arns=[ctx.source_names.role_arn("replicator"), ctx.source_names.role_arn("drift-checker")],
        source_bucket_arn=f"arn:aws:s3:::{ctx.source_names.bucket}", prefixes=prefixes,
        organization_id=ctx.settings.project.organization_id, external_id=ctx.settings.source.replication.external_id,
    ), opts)
    ctx.export({REPLICA_WRITER_ROLE_ARN_OUTPUT: writer.role_arn, "replica_writer_role_name": writer.role_name})

# Where settings give a VPC: the functions' security group and the endpoints they reach AWS through.
network_args = function_network_args(ctx, bucket.bucket_arn, [config.table_arn, metadata.table_arn])
if network_args is not None:
    network = FunctionNetwork("network", network_args, opts)
    ctx.export({FUNCTION_SECURITY_GROUP_OUTPUT: network.security_group_id})
