"""Processing layer: the validator and the task processor, wired to this environment's storage and queues, their
alarms, and the environment's dashboard."""

from pipeline_infra.components import (
    Alarms,
    AlarmsArgs,
    Dashboard,
    DashboardArgs,
    Processing,
    ProcessingArgs,
    function_alarms,
)
from pipeline_infra.context import LayerContext
from pipeline_infra.layers import NOTIFICATIONS, PROCESSING, STORAGE

ctx = LayerContext.from_stack_config(PROCESSING)
storage, notifications = ctx.stack_reference(STORAGE), ctx.stack_reference(NOTIFICATIONS)

processing = Processing("processing", ProcessingArgs(
    environment=ctx.env.name, code_path=ctx.function_code(),
    validator=ctx.function_spec("validator"), task_processor=ctx.function_spec("task-processor"),
    raw_upload_rule_name=ctx.names.rule("raw-uploads"), task_batch_size=ctx.env.notifications.task_batch_size,
    rule_retries=ctx.rule_retries(), async_retries=ctx.async_retries(),
    bucket_name=storage.require_output("bucket_name"), bucket_arn=storage.require_output("bucket_arn"),
    metadata_table_name=storage.require_output("metadata_table_name"),
    metadata_table_arn=storage.require_output("metadata_table_arn"),
    task_queue_url=notifications.require_output("task_queue_url"),
    task_queue_arn=notifications.require_output("task_queue_arn"),
    task_dlq_arn=notifications.require_output("task_dlq_arn"),
    task_dlq_url=notifications.require_output("task_dlq_url"),
    success_topic_arn=notifications.require_output("success_topic_arn"),
    failure_topic_arn=notifications.require_output("failure_topic_arn"),
), ctx.options())
errors, throttles = ctx.alarm_rule("function_errors"), ctx.alarm_rule("function_throttles")
Alarms("alarms", AlarmsArgs(topic_arn=notifications.require_output("failure_topic_arn"), alarms=[
    *function_alarms(ctx.names.alarm, "validator", processing.validator_function_name, errors, throttles),
    *function_alarms(ctx.names.alarm, "task-processor", processing.task_processor_function_name, errors, throttles),
]), ctx.options())
Dashboard("dashboard", DashboardArgs(dashboard_name=ctx.names.dashboard("pipeline"), content=ctx.dashboard_content(
    "Pipeline", functions=["validator", "task-processor"], dead_letter_queues=["tasks-dlq", "replication-dlq"],
)), ctx.options())

ctx.export({
    "validator_function_name": processing.validator_function_name,
    "validator_function_arn": processing.validator_function_arn,
    "task_processor_function_name": processing.task_processor_function_name,
    "task_processor_function_arn": processing.task_processor_function_arn,
    "raw_upload_rule_arn": processing.raw_upload_rule_arn,
})
