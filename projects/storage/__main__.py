"""Storage layer: the data bucket, the config and metadata tables, and (in replication targets) the writer role."""

from pipeline_infra.components import (
    DataBucket,
    DataBucketArgs,
    PipelineTable,
    PipelineTableArgs,
    ReplicaWriterRole,
    ReplicaWriterRoleArgs,
    SecondaryIndex,
)
from pipeline_infra.context import LayerContext
from pipeline_infra.layers import NAME_SUFFIX_OUTPUT, REPLICA_WRITER_ROLE_ARN_OUTPUT, STORAGE

ctx = LayerContext.from_stack_config("storage")
storage, names, opts, source = ctx.env.storage, ctx.names, ctx.options(), ctx.settings.source

# The source bucket lets each target's writer role read what it copies, by the ARN that target exported.
targets = ctx.env.replication.targets
readers = [ctx.stack_reference(STORAGE, t).require_output(REPLICA_WRITER_ROLE_ARN_OUTPUT) for t in targets]
bucket = DataBucket("data", DataBucketArgs(
    names.bucket, storage.raw_retention_days, storage.noncurrent_version_expiration_days, storage.force_destroy,
    replica_reader_arns=readers, replicated_prefixes=source.replication.prefixes,
), opts)
config = PipelineTable("config", PipelineTableArgs(
    names.config_table, "pk", storage.config_table.billing, range_key="sk", stream=True,
    point_in_time_recovery=storage.config_table.point_in_time_recovery,
), opts)
metadata = PipelineTable("metadata", PipelineTableArgs(
    names.metadata_table, "pk", storage.metadata_table.billing,
    point_in_time_recovery=storage.metadata_table.point_in_time_recovery,
    indexes=[SecondaryIndex("timestamp-index", "dataset", "timestamp")],
), opts)
ctx.export({
    "environment": ctx.env.name, "region": ctx.env.region, "account_id": ctx.env.account_id,
    NAME_SUFFIX_OUTPUT: names.suffix,
    "bucket_name": bucket.bucket_name, "bucket_arn": bucket.bucket_arn,
    "config_table_name": config.table_name, "config_table_arn": config.table_arn,
    "config_table_stream_arn": config.stream_arn,
    "metadata_table_name": metadata.table_name, "metadata_table_arn": metadata.table_arn,
})

if ctx.env.name in source.replication.targets:
    source_names = ctx.names_of(source.name)
    writer = ReplicaWriterRole("replica-writer", ReplicaWriterRoleArgs(
        names.role("replica-writer"), [source_names.role_arn("replicator"), source_names.role_arn("drift-checker")],
        bucket.bucket_arn, config.table_arn,
        f"arn:aws:s3:::{source_names.bucket}", source.replication.prefixes,
    ), opts)
    ctx.export({REPLICA_WRITER_ROLE_ARN_OUTPUT: writer.role_arn, "replica_writer_role_name": writer.role_name})
