"""Notifications and processing layers, every environment."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pipeline_infra.components.processing import raw_upload_pattern
from tests.unit.conftest import ENVIRONMENTS, RenderedStack, stack

if TYPE_CHECKING:
    from pipeline_infra.settings import Settings

pytestmark = pytest.mark.parametrize("env", ENVIRONMENTS)
FOURTEEN_DAYS = 14 * 24 * 3600


@pytest.fixture
def notifications(rendered: dict, env: str) -> RenderedStack:
    return stack(rendered, "notifications", env)


@pytest.fixture
def processing(rendered: dict, env: str) -> RenderedStack:
    return stack(rendered, "processing", env)


def test_topics_are_encrypted_and_subscribed_from_settings(
    notifications: RenderedStack, settings: Settings, env: str
) -> None:
    for outcome in ("success", "failure"):
        topic = notifications.named(f"topics-{outcome}")
        assert topic.inputs["name"] == f"sns-{outcome}-{env}-{settings.env(env).suffix}"
    assert notifications.named("topics-success").inputs["kmsMasterKeyId"] == "alias/aws/sns"
    # CloudWatch cannot use the AWS managed key: the failure topic, which alarms publish to, has its own
    key = notifications.named("topics-failure-key")
    assert notifications.named("topics-failure").inputs["kmsMasterKeyId"] == key.outputs["arn"], key.urn
    subscriptions = notifications.of_type("aws:sns/topicSubscription:TopicSubscription")
    expected = {(s.protocol, s.endpoint) for s in settings.env(env).notifications.subscriptions}
    assert {(s.inputs["protocol"], s.inputs["endpoint"]) for s in subscriptions} == expected
    assert expected, "every environment alerts somebody"


def test_replication_dead_letter_queue_keeps_14_days_encrypted(notifications: RenderedStack) -> None:
    dlq = notifications.named("replication-dlq-queue")
    assert dlq.inputs["messageRetentionSeconds"] == FOURTEEN_DAYS
    assert dlq.inputs["sqsManagedSseEnabled"] is True


def test_task_queue_redrives_after_three_receives_and_outlasts_the_processor(
    notifications: RenderedStack, settings: Settings, env: str
) -> None:
    queue, dlq = notifications.named("tasks-queue"), notifications.named("tasks-dlq")
    assert queue.inputs["messageRetentionSeconds"] == FOURTEEN_DAYS
    redrive = json.loads(queue.inputs["redrivePolicy"])
    assert redrive == {"deadLetterTargetArn": dlq.outputs["arn"], "maxReceiveCount": 3}, queue.urn
    timeout = settings.env(env).functions.task_processor.timeout_seconds
    assert queue.inputs["visibilityTimeoutSeconds"] >= 6 * timeout


def test_notification_outputs_have_stable_keys(notifications: RenderedStack) -> None:
    assert set(notifications.outputs) == {
        "success_topic_arn",
        "failure_topic_arn",
        "replication_dlq_url",
        "replication_dlq_arn",
        "task_queue_url",
        "task_queue_arn",
        "task_dlq_url",
        "task_dlq_arn",
    }


def test_validator_is_triggered_by_raw_uploads_of_its_own_bucket(
    processing: RenderedStack, rendered: dict, env: str
) -> None:
    bucket = stack(rendered, "storage", env).named("data-bucket").id
    rule = processing.named("processing-raw-uploads")
    assert json.loads(rule.inputs["eventPattern"]) == raw_upload_pattern(bucket)
    target = processing.named("processing-raw-uploads-target")
    validator = processing.named("processing-validator-function")
    assert target.inputs["arn"] == validator.outputs["arn"]
    assert target.inputs["retryPolicy"]["maximumRetryAttempts"] > 0
    permission = processing.named("processing-raw-uploads-invoke")
    assert permission.inputs["sourceArn"] == rule.outputs["arn"]
    assert permission.inputs["principal"] == "events.amazonaws.com"


def test_validator_failures_retry_per_settings_then_land_in_the_task_dlq(
    processing: RenderedStack, rendered: dict, settings: Settings, env: str
) -> None:
    replication = settings.env(env).replication
    target = processing.named("processing-raw-uploads-target")
    assert target.inputs["retryPolicy"] == {
        "maximumRetryAttempts": replication.rule_retry_attempts,
        "maximumEventAgeInSeconds": replication.rule_maximum_event_age_seconds,
    }
    config = processing.named("processing-validator-async")
    task_dlq = stack(rendered, "notifications", env).outputs["task_dlq_arn"]
    assert config.inputs["maximumRetryAttempts"] == replication.async_retry_attempts
    assert config.inputs["maximumEventAgeInSeconds"] == replication.maximum_event_age_seconds
    assert config.inputs["destinationConfig"]["onFailure"]["destination"] == task_dlq, config.urn


def test_task_processor_reports_partial_batch_failures(processing: RenderedStack, rendered: dict, env: str) -> None:
    mapping = processing.named("processing-task-source")
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.inputs["eventSourceArn"] == stack(rendered, "notifications", env).outputs["task_queue_arn"]


@pytest.mark.parametrize("role", ["validator", "task-processor"])
def test_functions_follow_settings(processing: RenderedStack, settings: Settings, env: str, role: str) -> None:
    function = processing.named(f"processing-{role}-function")
    e = settings.env(env)
    configured = getattr(e.functions, role.replace("-", "_"))
    assert function.inputs["runtime"] == e.functions.runtime
    assert int(function.inputs["runtime"].removeprefix("python3.")) >= 12
    assert function.inputs["memorySize"] == configured.memory_mb
    assert function.inputs["timeout"] <= 300
    assert function.inputs["tracingConfig"]["mode"] == ("Active" if env in ("staging", "prod") else "PassThrough")
    variables = function.inputs["environment"]["variables"]
    assert variables["PIPELINE_ENVIRONMENT"] == env
    assert variables["DATA_BUCKET"] == f"company-data-{env}-{e.region}-{e.suffix}"
    assert variables["POWERTOOLS_LOG_LEVEL"] == e.functions.log_level


def test_memory_defaults_per_environment(processing: RenderedStack, env: str) -> None:
    memory = {
        "validator": processing.named("processing-validator-function").inputs["memorySize"],
        "task-processor": processing.named("processing-task-processor-function").inputs["memorySize"],
    }
    expected = {"dev": (512, 512), "staging": (1024, 512), "prod": (2048, 1024)}[env]
    assert (memory["validator"], memory["task-processor"]) == expected


@pytest.mark.parametrize("role", ["validator", "task-processor"])
def test_log_groups_exist_before_their_functions(processing: RenderedStack, env: str, role: str) -> None:
    log_group = processing.named(f"processing-{role}-logs")
    function = processing.named(f"processing-{role}-function")
    assert log_group.inputs["name"] == f"/aws/lambda/{function.inputs['name']}"
    assert log_group.inputs["retentionInDays"] == (30 if env == "prod" else 7)
    assert function.inputs["loggingConfig"]["logGroup"] == log_group.inputs["name"]
    assert processing.index(log_group.name) < processing.index(function.name), "log group must be created first"


def test_one_runtime_for_all_environments(rendered: dict, env: str) -> None:
    runtimes = {
        r.inputs["runtime"] for (layer, _), s in rendered.items() for r in s.of_type("aws:lambda/function:Function")
    }
    assert len(runtimes) == 1, runtimes


def test_processing_outputs_have_stable_keys(processing: RenderedStack) -> None:
    assert set(processing.outputs) == {
        "validator_function_name",
        "validator_function_arn",
        "task_processor_function_name",
        "task_processor_function_arn",
        "raw_upload_rule_arn",
    }
