"""Replication layer (source environment only): replicator, change capture and the scheduled drift checker."""

from pipeline_infra.components import (
    ChangeCapture,
    ChangeCaptureArgs,
    DriftChecker,
    DriftCheckerArgs,
    ReplicationSource,
    Replicator,
    ReplicatorArgs,
)
from pipeline_infra.context import LayerContext

ctx = LayerContext.from_stack_config("replication")
storage, notifications = ctx.stack_reference("storage"), ctx.stack_reference("notifications")
bucket_name, bucket_arn = storage.require_output("bucket_name"), storage.require_output("bucket_arn")
table_name, table_arn = storage.require_output("config_table_name"), storage.require_output("config_table_arn")
success_topic = notifications.require_output("success_topic_arn")
failure_topic = notifications.require_output("failure_topic_arn")
dlq_arn = notifications.require_output("replication_dlq_arn")
dlq_url = notifications.require_output("replication_dlq_url")
targets = ctx.replication_targets()

source = ReplicationSource(
    ctx.env, ctx.names, ctx.function_code(), bucket_name, bucket_arn, table_name, table_arn,
    success_topic, failure_topic, dlq_arn,
)
replicator = Replicator("replicator", ReplicatorArgs(source, targets), ctx.options())
capture = ChangeCapture("capture", ChangeCaptureArgs(
    ctx.names, ctx.env.replication, bucket_name, table_arn, storage.require_output("config_table_stream_arn"),
    replicator.function_name, replicator.function_arn, dlq_arn, dlq_url,
), ctx.options())
drift = DriftChecker("drift-checker", DriftCheckerArgs(
    source, replicator.targets_json, [t.writer_role_arn for t in targets],
), ctx.options())

ctx.export({
    "replicator_function_name": replicator.function_name, "replicator_function_arn": replicator.function_arn,
    "replicator_role_arn": replicator.role_arn, "idempotency_table_name": replicator.idempotency_table_name,
    "drift_checker_function_name": drift.function_name, "drift_checker_function_arn": drift.function_arn,
    "replication_bus_name": capture.bus_name, "config_pipe_arn": capture.pipe_arn,
    "s3_changes_rule_arn": capture.object_rule_arn, "config_changes_rule_arn": capture.config_rule_arn,
    "drift_schedule_rule_arn": drift.schedule_rule_arn,
})
