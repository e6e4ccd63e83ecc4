"""The sandbox's alarm evaluation: CloudWatch's state decision, its notification, and whether CloudWatch may
publish to a topic (its policy and its key's policy), without an emulator."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline_infra.policies import documents
from pipeline_infra_tools.sandbox.lambda_runtime.alarm_states import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    AlarmView,
    evaluate,
    notification,
)
from pipeline_infra_tools.sandbox.lambda_runtime.alarms import AlarmEvaluator, Samples, evaluable

ACCOUNT, REGION = "123456789012", "us-east-1"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:sns-failure-prod-pl01"
ALARMS = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:alarm-*-prod-pl01"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k-1"
DLQ_ALARM = AlarmView.from_api(
    {
        "AlarmName": "alarm-replication-dlq-prod-pl01",
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:alarm-replication-dlq-prod-pl01",
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": "sqs-replication-dlq-prod-pl01"}],
        "Statistic": "Maximum",
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 1.0,
        "Period": 60,
        "EvaluationPeriods": 1,
        "TreatMissingData": "notBreaching",
        "StateValue": "OK",
        "AlarmActions": [TOPIC],
        "OKActions": [TOPIC],
    }
)


def alarm(**changes: Any) -> AlarmView:
    return replace(DLQ_ALARM, **changes)


@pytest.mark.parametrize(
    ("changes", "values", "state"),
    [
        ({}, [1.0], ALARM),
        ({}, [0.0], OK),
        ({}, [None], OK),  # notBreaching: no data is no message
        ({"treat_missing_data": "missing"}, [None], INSUFFICIENT_DATA),
        ({"treat_missing_data": "ignore", "state": ALARM}, [None], ALARM),
        ({"comparison": "GreaterThanThreshold", "threshold": 900.0}, [900.0], OK),
        ({"comparison": "GreaterThanThreshold", "threshold": 900.0}, [901.0], ALARM),
        # 2 of 3 periods must breach
        ({"evaluation_periods": 3, "datapoints_to_alarm": 2}, [1.0, 0.0, 0.0], OK),
        ({"evaluation_periods": 3, "datapoints_to_alarm": 2}, [1.0, 0.0, 3.0], ALARM),
        # a run that never happened: no invocations in any period of the window is an alarm
        (
            {
                "comparison": "LessThanThreshold",
                "treat_missing_data": "breaching",
                "evaluation_periods": 3,
                "datapoints_to_alarm": 3,
            },
            [None, None, None],
            ALARM,
        ),
        (
            {
                "comparison": "LessThanThreshold",
                "treat_missing_data": "breaching",
                "evaluation_periods": 3,
                "datapoints_to_alarm": 3,
            },
            [None, 1.0, None],
            OK,
        ),
    ],
)
def test_the_state_follows_cloudwatch_rules(changes: dict[str, Any], values: list[float | None], state: str) -> None:
    assert evaluate(alarm(**changes), values).state == state


def test_the_reason_says_what_crossed_what() -> None:
    assert evaluate(DLQ_ALARM, [3.0]).reason == (
        "Threshold Crossed: 1 datapoint [3] was greater than or equal to the threshold (1)."
    )
    assert "was not greater than or equal to" in evaluate(DLQ_ALARM, [0.0]).reason
    breaching = alarm(comparison="LessThanThreshold", treat_missing_data="breaching")
    assert "1 missing datapoints were treated as [Breaching]" in evaluate(breaching, [None]).reason


def test_an_unknown_comparison_is_an_error_naming_the_alarm() -> None:
    with pytest.raises(ValueError, match="alarm-replication-dlq-prod-pl01"):
        evaluate(alarm(comparison="LessThanLowerThreshold"), [1.0])


def test_the_notification_has_cloudwatchs_shape() -> None:
    result = evaluate(DLQ_ALARM, [2.0])
    subject, message = notification(DLQ_ALARM, result, datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC))
    assert subject == 'ALARM: "alarm-replication-dlq-prod-pl01" in US East (N. Virginia)'
    assert message["NewStateValue"] == ALARM and message["OldStateValue"] == OK
    assert message["StateChangeTime"] == "2025-01-02T03:04:05.678+0000"
    assert (message["AWSAccountId"], message["AlarmArn"]) == (ACCOUNT, DLQ_ALARM.arn)
    assert message["Trigger"]["Dimensions"] == [{"value": "sqs-replication-dlq-prod-pl01", "name": "QueueName"}]
    assert message["Trigger"]["Statistic"] == "MAXIMUM" and message["Trigger"]["Threshold"] == 1.0
    assert message["AlarmActions"] == [TOPIC] and message["OKActions"] == [TOPIC]


def test_actions_follow_the_new_state_unless_disabled() -> None:
    assert DLQ_ALARM.actions_for(ALARM) == (TOPIC,) and DLQ_ALARM.actions_for(OK) == (TOPIC,)
    assert DLQ_ALARM.actions_for(INSUFFICIENT_DATA) == ()
    assert alarm(actions_enabled=False).actions_for(ALARM) == ()


def test_what_the_sandbox_can_evaluate() -> None:
    assert evaluable(DLQ_ALARM)
    assert evaluable(alarm(namespace="PipelineInfra", metric_name="ReplicationLagSeconds", dimensions={}))
    # Lambda's and Pipes' own metrics: nothing in the sandbox publishes them, so they are not judged
    assert not evaluable(alarm(namespace="AWS/Lambda", metric_name="Errors", dimensions={"FunctionName": "f"}))
    assert not evaluable(alarm(namespace="AWS/EventBridge/Pipes", metric_name="ExecutionFailed"))


def test_queue_samples_count_in_the_period_they_fall_in() -> None:
    samples, two = Samples(), alarm(evaluation_periods=2, datapoints_to_alarm=2)
    samples.add(two, 1000.0, 1.0)
    samples.add(two, 1030.0, 0.0)
    samples.add(two, 1070.0, 0.0)
    # periods (970, 1030] and (1030, 1090]: the maximum of each
    assert samples.per_period(two, 1090.0) == [1.0, 0.0]
    assert samples.per_period(two, 1200.0) == [None, None]
    samples.add(two, 1300.0, 2.0)  # older samples fall out of the window
    assert [at for at, _ in samples.kept[two.arn]] == [1300.0]


# -- whether CloudWatch may publish: the topic's policy, then its key's --------------------------------------------
class Topics:
    def __init__(self, attributes: dict[str, str]) -> None:
        self.attributes = attributes
        self.published: list[dict[str, Any]] = []

    def get_topic_attributes(self, TopicArn: str) -> dict[str, Any]:
        return {"Attributes": self.attributes}

    def publish(self, **message: Any) -> None:
        self.published.append(message)


class Keys:
    def __init__(self, policy: dict[str, Any]) -> None:
        self.policy = policy

    def describe_key(self, KeyId: str) -> dict[str, Any]:
        return {"KeyMetadata": {"KeyId": "k-1", "Arn": KEY_ARN}}

    def get_key_policy(self, KeyId: str, PolicyName: str) -> dict[str, Any]:
        return {"Policy": json.dumps(self.policy)}


def publish(attributes: dict[str, str], key_policy: dict[str, Any] | None = None) -> tuple[Topics, list[str]]:
    topics = Topics(attributes)
    refusals: list[str] = []
    evaluator = AlarmEvaluator(
        cloudwatch=None,
        sqs=None,
        sns=topics,
        kms=Keys(key_policy or {}),
        endpoint="http://127.0.0.1:1",
        refused=lambda request, reason, delivery: refusals.append(reason),
        succeeded=lambda *_: None,
    )
    evaluator._notify(DLQ_ALARM, TOPIC, "subject", {"AlarmName": DLQ_ALARM.name})
    return topics, refusals


TOPIC_POLICY = json.dumps(documents.alarm_topic(TOPIC, ACCOUNT, ALARMS))
KEY_POLICY = documents.alarm_topic_key(ACCOUNT, REGION, ALARMS)


def test_the_librarys_topic_and_key_admit_the_environments_alarms() -> None:
    topics, refusals = publish({"Policy": TOPIC_POLICY, "KmsMasterKeyId": KEY_ARN}, KEY_POLICY)
    assert refusals == [] and [m["TopicArn"] for m in topics.published] == [TOPIC]


def test_another_environments_alarms_are_refused() -> None:
    other = json.dumps(documents.alarm_topic(TOPIC, ACCOUNT, ALARMS.replace("prod", "dev")))
    topics, refusals = publish({"Policy": other, "KmsMasterKeyId": KEY_ARN}, KEY_POLICY)
    assert topics.published == [] and "cloudwatch.amazonaws.com" in refusals[0]


def test_a_topic_on_the_aws_managed_key_refuses_cloudwatch_as_aws_does() -> None:
    topics, refusals = publish({"Policy": TOPIC_POLICY, "KmsMasterKeyId": "alias/aws/sns"})
    assert topics.published == [] and "AWS managed key" in refusals[0]


def test_a_key_that_does_not_name_cloudwatch_refuses_it() -> None:
    without = {**KEY_POLICY, "Statement": [s for s in KEY_POLICY["Statement"] if s["Sid"] != "CloudWatchAlarmsPublish"]}
    topics, refusals = publish({"Policy": TOPIC_POLICY, "KmsMasterKeyId": KEY_ARN}, without)
    assert topics.published == [] and refusals


# -- one round after another: a transition is made once, the alarms are listed only when they may have changed ----
class Alarms:
    def __init__(self) -> None:
        self.listed = 0
        self.states: list[str] = []

    def get_paginator(self, _operation: str) -> Any:
        outer = self

        class Pages:
            def paginate(self, **_: Any) -> list[dict[str, Any]]:
                outer.listed += 1
                return [{"MetricAlarms": [DLQ_ALARM.raw]}]

        return Pages()

    def set_alarm_state(self, **request: Any) -> None:
        self.states.append(request["StateValue"])


class Queue:
    def __init__(self) -> None:
        self.depth = 0

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"ApproximateNumberOfMessages": str(self.depth)}}


def test_rounds_change_state_once_and_list_alarms_once_a_minute_or_after_a_deploy() -> None:
    cloudwatch, queue = Alarms(), Queue()
    topics = Topics({"Policy": TOPIC_POLICY, "KmsMasterKeyId": KEY_ARN})
    evaluator = AlarmEvaluator(
        cloudwatch=cloudwatch,
        sqs=queue,
        sns=topics,
        kms=Keys(KEY_POLICY),
        endpoint="http://127.0.0.1:1",
        refused=lambda *_: None,
        succeeded=lambda *_: None,
    )
    assert evaluator.run_once(now=1000.0) == []
    queue.depth = 2
    # GIVEN a message in the queue: one transition, one notification, however many rounds see it
    assert evaluator.run_once(now=1010.0) == [(DLQ_ALARM.name, OK, ALARM)]
    assert evaluator.run_once(now=1020.0) == []
    assert cloudwatch.states == [ALARM] and len(topics.published) == 1
    assert cloudwatch.listed == 1
    # WHEN a deploy happened, or a minute passed, the alarms are listed again
    evaluator.invalidate()
    evaluator.run_once(now=1030.0)
    evaluator.run_once(now=1095.0)
    assert cloudwatch.listed == 3
