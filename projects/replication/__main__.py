"""Replication layer (source environment only): replicator, change capture, the scheduled drift checker and their
alarms."""

import pulumi

from pipeline_infra.components import (
    Alarms,
    AlarmsArgs,
    ChangeCapture,
    ChangeCaptureArgs,
    Dashboard,
    DashboardArgs,
    DriftChecker,
    DriftCheckerArgs,
    Replicator,
    ReplicatorArgs,
    drift_check_alarms,
    function_alarms,
    pipe_alarm,
    replication_alarms,
)
from pipeline_infra.context import LayerContext
from pipeline_infra.layers import NOTIFICATIONS, REPLICATION, STORAGE

ctx = LayerContext.from_stack_config(REPLICATION)
storage, notifications = ctx.stack_reference(STORAGE), ctx.stack_reference(NOTIFICATIONS)
names, replication, opts = ctx.names, ctx.env.replication, ctx.options()
source, targets = ctx.replication_source(storage, notifications), ctx.replication_targets()
replicator = Replicator("replicator", ReplicatorArgs(
    source=source, targets=targets, function=ctx.function_spec("replicator"),
    idempotency_table_name=names.idempotency_table, idempotency_billing=ctx.table_billing(ctx.env.storage.config_table),
    idempotency_ttl_seconds=replication.idempotency_ttl_seconds, propagate_deletes=replication.propagate_deletes,
    multipart_threshold_bytes=replication.multipart_threshold_bytes, rewrite_max_bytes=replication.rewrite_max_bytes,
    rewrite_in_memory_bytes=replication.rewrite_in_memory_bytes, verbatim_prefixes=replication.verbatim_prefixes,
), opts)
# The DLQ admits the drift schedule's rule, and the drift checker reads back capture's rules: capture first.
drift_schedule_rule_arn, resolve_drift_schedule_rule_arn = pulumi.deferred_output()
pipe_name = names.resource("pipe", "config-stream")
capture = ChangeCapture("capture", ChangeCaptureArgs(
    bus_name=names.resource("bus", "replication"), pipe_name=pipe_name,
    pipe_role_name=names.role("config-pipe"), object_rule_name=names.rule("s3-changes"), prefixes=source.prefixes,
    config_rule_name=names.rule("config-changes"), rule_retries=ctx.rule_retries(), bucket_name=source.bucket_name,
    config_table_arn=source.config_table_arn, config_stream_arn=storage.require_output("config_table_stream_arn"),
    dlq_arn=source.dlq_arn, dlq_url=notifications.require_output("replication_dlq_url"),
    replicator_function_name=replicator.function_name, replicator_function_arn=replicator.function_arn,
    dead_letter_rule_arns=[drift_schedule_rule_arn],
), opts)
drift = DriftChecker("drift-checker", DriftCheckerArgs(
    source=source, function=ctx.function_spec("drift-checker"), targets_json=replicator.targets_json,
    writer_role_arns=[t.writer_role_arn for t in targets], schedule_rule_name=names.rule("drift-schedule"),
    schedule_expression=replication.drift_schedule, rewrite_max_bytes=replication.rewrite_max_bytes,
    rewrite_in_memory_bytes=replication.rewrite_in_memory_bytes, verbatim_prefixes=replication.verbatim_prefixes,
    replication_paths=capture.replication_paths,
), opts)
resolve_drift_schedule_rule_arn(drift.schedule_rule_arn)
errors, throttles = ctx.alarm_rule("function_errors"), ctx.alarm_rule("function_throttles")
Alarms("alarms", AlarmsArgs(topic_arn=source.failure_topic_arn, alarms=[
    *function_alarms(names.alarm, "replicator", replicator.function_name, errors, throttles),
    *function_alarms(names.alarm, "drift-checker", drift.function_name, errors, throttles),
    *[alarm for target in replication.targets for alarm in replication_alarms(
        names.alarm, target, replicator.function_name, ctx.alarm_rule("replication_lag"),
        ctx.alarm_rule("replication_failures"))],
    *drift_check_alarms(names.alarm, drift.function_name, ctx.drift_check_watch()),
    pipe_alarm(names.alarm, "config-stream", pipe_name, ctx.alarm_rule("pipe_failures")),
]), opts)
Dashboard("dashboard", DashboardArgs(dashboard_name=names.dashboard("replication"), content=ctx.dashboard_content(
    "Replication", functions=["replicator", "drift-checker"], dead_letter_queues=["replication-dlq"], replication=True,
)), opts)

ctx.export({
    "replicator_function_name": replicator.function_name, "replicator_function_arn": replicator.function_arn,
    "replicator_role_arn": replicator.role_arn, "idempotency_table_name": replicator.idempotency_table_name,
    "drift_checker_function_name": drift.function_name, "drift_checker_function_arn": drift.function_arn,
    "replication_bus_name": capture.bus_name, "config_pipe_arn": capture.pipe_arn,
    "s3_changes_rule_arn": capture.object_rule_arn, "config_changes_rule_arn": capture.config_rule_arn,
    "drift_schedule_rule_arn": drift.schedule_rule_arn,
})
