"""Replication layer (source environment only): replicator, change capture and the scheduled drift checker."""

from pipeline_infra.components import (
    ChangeCapture,
    ChangeCaptureArgs,
    DriftChecker,
    DriftCheckerArgs,
    PipelineFunctionArgs,
    ReplicationTarget,
    Replicator,
    ReplicatorArgs,
)
from pipeline_infra.components.drift_checker import DRIFT_CHECKER_HANDLER
from pipeline_infra.context import LayerContext

ctx = LayerContext.from_stack_config("replication")
env, names, opts = ctx.env, ctx.names, ctx.options()
storage, notifications = ctx.stack_reference("storage"), ctx.stack_reference("notifications")
topics = [notifications.require_output("success_topic_arn"), notifications.require_output("failure_topic_arn")]

targets = []
for target_env in env.replication.targets:
    upstream, target = ctx.stack_reference("storage", target_env), ctx.settings.env(target_env)
    targets.append(
        ReplicationTarget(
            environment=target_env,
            bucket_name=upstream.require_output("bucket_name"),
            bucket_arn=upstream.require_output("bucket_arn"),
            config_table_name=upstream.require_output("config_table_name"),
            writer_role_arn=upstream.require_output("replica_writer_role_arn"),
            region=target.region,
            account_id=target.account_id,
            name_token=f"-{target_env}-{ctx.names_of(target_env).suffix}",
            overlay=target.replication.overlay,
        )
    )

replicator = Replicator(
    "replicator",
    ReplicatorArgs(
        env=env,
        names=names,
        code_path=ctx.function_code(),
        targets=targets,
        bucket_name=storage.require_output("bucket_name"),
        bucket_arn=storage.require_output("bucket_arn"),
        config_table_name=storage.require_output("config_table_name"),
        config_table_arn=storage.require_output("config_table_arn"),
        success_topic_arn=topics[0],
        failure_topic_arn=topics[1],
        dlq_arn=notifications.require_output("replication_dlq_arn"),
    ),
    opts,
)
capture = ChangeCapture(
    "capture",
    ChangeCaptureArgs(
        names=names,
        replication=env.replication,
        bucket_name=storage.require_output("bucket_name"),
        config_table_arn=storage.require_output("config_table_arn"),
        config_stream_arn=storage.require_output("config_table_stream_arn"),
        replicator_function_name=replicator.function_name,
        replicator_function_arn=replicator.function_arn,
        dlq_arn=notifications.require_output("replication_dlq_arn"),
        dlq_url=notifications.require_output("replication_dlq_url"),
    ),
    opts,
)
drift = DriftChecker(
    "drift-checker",
    DriftCheckerArgs(
        function=PipelineFunctionArgs(
            function_name=names.function("drift-checker"),
            role_name=names.role("drift-checker"),
            handler=DRIFT_CHECKER_HANDLER,
            code_path=ctx.function_code(),
            function=env.functions.drift_checker,
            common=env.functions,
            environment={
                "PIPELINE_ENVIRONMENT": env.name,
                "DATA_BUCKET": storage.require_output("bucket_name"),
                "CONFIG_TABLE": storage.require_output("config_table_name"),
                "REPLICATION_TARGETS": replicator.targets_json,
                "SUCCESS_TOPIC_ARN": topics[0],
                "FAILURE_TOPIC_ARN": topics[1],
            },
        ),
        schedule=env.replication.drift_schedule,
        rule_name=names.rule("drift-schedule"),
        bucket_arn=storage.require_output("bucket_arn"),
        config_table_arn=storage.require_output("config_table_arn"),
        writer_role_arns=[t.writer_role_arn for t in targets],
        topic_arns=topics,
        prefixes=env.replication.prefixes,
    ),
    opts,
)

ctx.export(
    {
        "replicator_function_name": replicator.function_name,
        "replicator_function_arn": replicator.function_arn,
        "replicator_role_arn": replicator.role_arn,
        "idempotency_table_name": replicator.idempotency_table_name,
        "drift_checker_function_name": drift.function_name,
        "drift_checker_function_arn": drift.function_arn,
        "replication_bus_name": capture.bus_name,
        "config_pipe_arn": capture.pipe_arn,
        "s3_changes_rule_arn": capture.object_rule_arn,
        "config_changes_rule_arn": capture.config_rule_arn,
        "drift_schedule_rule_arn": drift.schedule_rule_arn,
    }
)
