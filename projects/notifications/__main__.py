"""Notifications layer: success and failure topics, the replication DLQ and the task queue with its DLQ, and the
alarms on both DLQs."""

from pipeline_infra.components import (
    Alarms,
    AlarmsArgs,
    MessageQueue,
    MessageQueueArgs,
    NotificationTopics,
    NotificationTopicsArgs,
    dead_letter_queue_alarm,
)
from pipeline_infra.context import LayerContext
from pipeline_infra.layers import NOTIFICATIONS

# A visibility timeout of at least six times the consumer's timeout keeps a slow batch from being redelivered.
VISIBILITY_TIMEOUT_FACTOR = 6

ctx = LayerContext.from_stack_config(NOTIFICATIONS)
settings, names, opts = ctx.env.notifications, ctx.names, ctx.options()

topics = NotificationTopics("topics", NotificationTopicsArgs(
    success_topic_name=names.topic("success"), failure_topic_name=names.topic("failure"),
    subscriptions=ctx.topic_subscriptions(), alarm_publishers=ctx.alarm_publishers(),
), opts)
replication_dlq = MessageQueue("replication-dlq", MessageQueueArgs(
    queue_name=names.queue("replication-dlq"), retention_seconds=settings.queue_retention_seconds,
), opts)
tasks = MessageQueue("tasks", MessageQueueArgs(
    queue_name=names.queue("tasks"), retention_seconds=settings.queue_retention_seconds,
    visibility_timeout_seconds=VISIBILITY_TIMEOUT_FACTOR * ctx.env.functions.task_processor.timeout_seconds,
    dead_letter_queue_name=names.queue("tasks-dlq"), max_receive_count=settings.max_receive_count,
), opts)
Alarms("alarms", AlarmsArgs(topic_arn=topics.failure_topic_arn, alarms=[
    dead_letter_queue_alarm(names.alarm, purpose, names.queue(purpose), ctx.dead_letter_queue_rule())
    for purpose in ("replication-dlq", "tasks-dlq")
]), opts)

ctx.export({
    "success_topic_arn": topics.success_topic_arn, "failure_topic_arn": topics.failure_topic_arn,
    "replication_dlq_url": replication_dlq.queue_url, "replication_dlq_arn": replication_dlq.queue_arn,
    "task_queue_url": tasks.queue_url, "task_queue_arn": tasks.queue_arn,
    "task_dlq_url": tasks.dead_letter_queue_url, "task_dlq_arn": tasks.dead_letter_queue_arn,
})
