"""Processing layer: the validator and the task processor, wired to this environment's storage and queues."""

from pipeline_infra.components import Processing, ProcessingArgs
from pipeline_infra.context import LayerContext

ctx = LayerContext.from_stack_config("processing")
storage, notifications = ctx.stack_reference("storage"), ctx.stack_reference("notifications")

processing = Processing("processing", ProcessingArgs(
    ctx.env, ctx.names, ctx.function_code(),
    storage.require_output("bucket_name"), storage.require_output("bucket_arn"),
    storage.require_output("metadata_table_name"), storage.require_output("metadata_table_arn"),
    notifications.require_output("task_queue_url"), notifications.require_output("task_queue_arn"),
    notifications.require_output("task_dlq_arn"),
    notifications.require_output("success_topic_arn"), notifications.require_output("failure_topic_arn"),
), ctx.options())

ctx.export({
    "validator_function_name": processing.validator_function_name,
    "validator_function_arn": processing.validator_function_arn,
    "task_processor_function_name": processing.task_processor_function_name,
    "task_processor_function_arn": processing.task_processor_function_arn,
    "raw_upload_rule_arn": processing.raw_upload_rule_arn,
})
