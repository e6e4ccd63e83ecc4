"""A change that fails for good raises the dead-letter queue's alarm, and CloudWatch's notification reaches the
failure topic; draining the queue clears it. The emulator stores alarms without evaluating them: the local
runtime plays CloudWatch (README, emulator gaps). The DLQ is drained and the alarm back to OK before the test
ends, since the session's sandbox is shared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pipeline_infra.naming import Names
from pipeline_infra_tools.sandbox.lambda_runtime.alarms import EVALUATE_SECONDS
from tests.integration.helpers import (
    about,
    peek_dead_letters,
    subscribed,
    take_dead_letters,
    unique,
    wait_for,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.conftest import DeployedSandbox
    from tests.integration.helpers import Notification

pytestmark = pytest.mark.integration

ENV = "prod"


def unrewritable(prod_bucket: str) -> bytes:
    """A config document naming prod's bucket that is not JSON (cut off): the replicator must refuse it."""
    return f'{{"input": "s3://{prod_bucket}/raw/", "batch": '.encode()


def alarm_state(cloudwatch: Any, name: str) -> str:
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return str(alarm["StateValue"])


def alarm_note(name: str, state: str) -> Callable[[Notification], bool]:
    return lambda note: note.body.get("AlarmName") == name and note.body.get("NewStateValue") == state


def test_a_refused_change_raises_the_dead_letter_alarm_on_the_failure_topic(sandbox: DeployedSandbox) -> None:
    s3, sqs, cloudwatch = sandbox.client("s3"), sandbox.client("sqs"), sandbox.client("cloudwatch")
    settings = sandbox.settings
    names = Names(settings.project, settings.env(ENV))
    notifications = sandbox.outputs("notifications", ENV)
    queue, topic = notifications["replication_dlq_url"], notifications["failure_topic_arn"]
    prod_bucket = sandbox.outputs("storage", ENV)["bucket_name"]
    alarm = names.alarm("replication-dlq")
    # The alarm clears once a whole period has passed without a message, evaluated every few seconds.
    clears_within = settings.env(ENV).monitoring.dead_letter_queues.period_seconds + 4 * EVALUATE_SECONDS
    key = f"config/alarms/{unique('refused')}.json"
    take_dead_letters(sqs, queue)
    wait_for(lambda: alarm_state(cloudwatch, alarm) == "OK" or None, f"{alarm} OK first", timeout=clears_within)
    try:
        with subscribed(sandbox, topic) as inbox:
            # GIVEN the replication DLQ's alarm is OK
            # WHEN prod gets a config document the replicator cannot rewrite
            s3.put_object(Bucket=prod_bucket, Key=key, Body=unrewritable(prod_bucket))
            # THEN the refused change is dead-lettered
            wait_for(lambda: peek_dead_letters(sqs, queue, about(key)) or None, f"DLQ record for {key}")
            # AND the alarm goes to ALARM, and CloudWatch's notification of it reaches the failure topic
            [raised] = inbox.wait(alarm_note(alarm, "ALARM"), what=f"{alarm} ALARM notification")
            assert alarm_state(cloudwatch, alarm) == "ALARM"
            body = raised.body
            assert body["OldStateValue"] == "OK", body
            assert body["AlarmArn"].endswith(f":alarm:{alarm}"), body
            assert body["AlarmActions"] == [topic] and body["OKActions"] == [topic], body
            assert body["NewStateReason"].startswith("Threshold Crossed"), body
            trigger = body["Trigger"]
            assert (trigger["Namespace"], trigger["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
            assert trigger["Dimensions"] == [{"name": "QueueName", "value": names.queue("replication-dlq")}]
            assert (trigger["ComparisonOperator"], trigger["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1.0)
            # WHEN the DLQ is drained (the change seen and dealt with)
            [letter] = take_dead_letters(sqs, queue, about(key))
            assert letter["requestContext"]["condition"] == "RefusedChange", letter["requestContext"]
            # THEN the alarm clears and says so on the same topic
            inbox.wait(alarm_note(alarm, "OK"), what=f"{alarm} OK notification", timeout=clears_within)
            assert alarm_state(cloudwatch, alarm) == "OK"
    finally:
        s3.delete_object(Bucket=prod_bucket, Key=key)
        take_dead_letters(sqs, queue, about(key))
        wait_for(lambda: alarm_state(cloudwatch, alarm) == "OK" or None, f"{alarm} OK again", timeout=clears_within)
