"""The runtime plays CloudWatch's alarm evaluation, which the emulator does not do.

Every few seconds: the reads the alarms it can evaluate need (each queue's attributes; one GetMetricData per
evaluation window for the alarms on published metrics), the state set with SetAlarmState,
and on a change the notification CloudWatch sends published to the alarm's SNS actions, as
`cloudwatch.amazonaws.com`: only when the topic's policy and its key's policy admit the alarm, as AWS checks them.

What it evaluates: SQS queue depth (sampled from the queue's attributes each round, the samples inside a period
taken as that period's statistic), and metrics
published to the emulator's CloudWatch (PutMetricData, or functions' EMF records where the runtime forwards
them). Other `AWS/` namespaces (Lambda's, Pipes') are metrics no part of the sandbox publishes: those alarms are
left as they are (INSUFFICIENT_DATA) rather than judged on data that does not exist.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.lambda_runtime.alarm_states import AlarmView, evaluate, notification
from pipeline_infra_tools.sandbox.lambda_runtime.queues import queue_url
from pipeline_infra_tools.sandbox.service_grants import Decision, ServiceRequest, decide

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from pipeline_infra_tools.sandbox.lambda_runtime.alarm_states import Evaluation

log = logging.getLogger("pipeline_infra_tools.sandbox.runtime")
CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"
DELIVERY = "cloudwatch-to-sns"
# How often alarms are evaluated: a few seconds, so a test sees a transition soon. Each round is a handful of
# signed requests the emulator checks against IAM (measured: about 1% of a core every 5 s with 31 alarms), so the
# interval is as long as a test can wait and the alarms themselves are listed only when they may have changed.
EVALUATE_SECONDS = 10.0
# The alarms (and their states) are listed again after a deploy (`invalidate`) and at least this often, so a
# state set by hand (SetAlarmState) is seen.
DESCRIBE_SECONDS = 60.0
SQS_NAMESPACE = "AWS/SQS"
QUEUE_ATTRIBUTES = {
    "ApproximateNumberOfMessagesVisible": "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible": "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed": "ApproximateNumberOfMessagesDelayed",
}
AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "Maximum": max,
    "Minimum": min,
    "Sum": sum,
    "Average": lambda values: sum(values) / len(values),
    "SampleCount": lambda values: float(len(values)),
}
MAX_QUERIES = 500  # GetMetricData's limit per request
# Managed keys' policies cannot name CloudWatch, so AWS drops its notifications to topics encrypted with them.
MANAGED_KEY_PREFIX = "alias/aws/"


def sqs_alarm(alarm: AlarmView) -> bool:
    return (
        alarm.namespace == SQS_NAMESPACE and alarm.metric_name in QUEUE_ATTRIBUTES and "QueueName" in alarm.dimensions
    )


def evaluable(alarm: AlarmView) -> bool:
    """Queue depth, or a metric something publishes into the emulator (any namespace but AWS services')."""
    return sqs_alarm(alarm) or not alarm.namespace.startswith("AWS/")


@dataclass
class Samples:
    """Queue depths as sampled, per alarm, so each period's statistic is taken over the samples inside it."""

    kept: dict[str, deque[tuple[float, float]]] = field(default_factory=lambda: defaultdict(deque))

    def add(self, alarm: AlarmView, at: float, value: float) -> None:
        samples = self.kept[alarm.arn]
        samples.append((at, value))
        horizon = at - alarm.period * alarm.evaluation_periods
        while samples and samples[0][0] <= horizon:
            samples.popleft()

    def per_period(self, alarm: AlarmView, now: float) -> list[float | None]:
        """One value per evaluation period ending now, oldest first; None for a period nobody sampled."""
        aggregate = AGGREGATES.get(alarm.statistic, max)
        values: list[float | None] = []
        for index in reversed(range(alarm.evaluation_periods)):
            end = now - index * alarm.period
            inside = [v for at, v in self.kept.get(alarm.arn, ()) if end - alarm.period < at <= end]
            values.append(aggregate(inside) if inside else None)
        return values

    def forget_all_but(self, arns: Iterable[str]) -> None:
        for arn in set(self.kept) - set(arns):
            del self.kept[arn]


@dataclass
class AlarmEvaluator:
    """One round of evaluation with the runtime's (administrator's) clients; `refused` logs a refused delivery."""

    cloudwatch: Any
    sqs: Any
    sns: Any
    kms: Any
    endpoint: str
    refused: Callable[[ServiceRequest, str, str], None]
    succeeded: Callable[[str, str, str], None]
    samples: Samples = field(default_factory=Samples)
    _alarms: dict[str, AlarmView] = field(default_factory=dict)
    _described_at: float | None = None

    def invalidate(self) -> None:
        """List the alarms again at the next round (stacks were deployed)."""
        self._described_at = None

    def run_once(self, now: float | None = None) -> list[tuple[str, str, str]]:
        """Evaluate every alarm it can; returns the transitions made (alarm name, old state, new state)."""
        moment = time.time() if now is None else now
        if self._described_at is None or moment - self._described_at >= DESCRIBE_SECONDS:
            self._alarms = {a["AlarmArn"]: AlarmView.from_api(a) for a in self._describe()}
            self._described_at = moment
            self.samples.forget_all_but(self._alarms)
        alarms = list(self._alarms.values())
        values = self._metric_values([a for a in alarms if evaluable(a) and not sqs_alarm(a)], moment)
        transitions = []
        for alarm in alarms:
            if not evaluable(alarm):
                continue
            if sqs_alarm(alarm):
                self.samples.add(alarm, moment, self._queue_value(alarm))
                result = evaluate(alarm, self.samples.per_period(alarm, moment))
            else:
                result = evaluate(alarm, values.get(alarm.arn, [None] * alarm.evaluation_periods))
            if result.state != alarm.state:
                self._transition(alarm, result, moment)
                self._alarms[alarm.arn] = replace(alarm, state=result.state)
                transitions.append((alarm.name, alarm.state, result.state))
        return transitions

    def _describe(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in self.cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
            found.extend(page.get("MetricAlarms", []))
        return found

    def _queue_value(self, alarm: AlarmView) -> float:
        name = alarm.dimensions["QueueName"]
        url = queue_url(f"arn:aws:sqs:{alarm.region}:{alarm.account}:{name}", self.endpoint)
        attribute = QUEUE_ATTRIBUTES[alarm.metric_name]
        try:
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[attribute])["Attributes"]
        except ClientError as error:
            if "NonExistentQueue" in str(error.response.get("Error", {}).get("Code")):
                return 0.0
            raise
        return float(attributes.get(attribute, 0))

    def _metric_values(self, alarms: list[AlarmView], now: float) -> dict[str, list[float | None]]:
        """Per alarm, its statistic per evaluation period (oldest first) from the emulator's CloudWatch: one
        GetMetricData for the alarms that look back as far (each query keeps its own period)."""
        found: dict[str, list[float | None]] = {}
        # Datapoints are stamped to the second or finer: the end is the next second, so one just put is in.
        end = datetime.fromtimestamp(int(now) + 1, UTC)
        by_window: dict[int, list[AlarmView]] = defaultdict(list)
        for alarm in alarms:
            by_window[alarm.period * alarm.evaluation_periods].append(alarm)
        for window, group in by_window.items():
            start = end - timedelta(seconds=window)
            for first in range(0, len(group), MAX_QUERIES):
                chunk = group[first : first + MAX_QUERIES]
                queries = [_query(alarm, f"a{index}") for index, alarm in enumerate(chunk)]
                response = self.cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)
                results = {r["Id"]: r for r in response.get("MetricDataResults", [])}
                for index, alarm in enumerate(chunk):
                    result = results.get(f"a{index}", {})
                    found[alarm.arn] = _slots(alarm, start, result.get("Timestamps", []), result.get("Values", []))
        return found

    def _transition(self, alarm: AlarmView, result: Evaluation, now: float) -> None:
        self.cloudwatch.set_alarm_state(
            AlarmName=alarm.name,
            StateValue=result.state,
            StateReason=result.reason[:1023],
            StateReasonData=json.dumps(result.data),
        )
        log.info(
            {
                "event": "alarm_state_changed",
                "alarm": alarm.name,
                "old_state": alarm.state,
                "new_state": result.state,
                "reason": result.reason,
            }
        )
        subject, message = notification(alarm, result, datetime.fromtimestamp(now, UTC))
        for action in alarm.actions_for(result.state):
            if action.startswith("arn:aws:sns:"):
                self._notify(alarm, action, subject, message)

    def _notify(self, alarm: AlarmView, topic_arn: str, subject: str, message: dict[str, Any]) -> None:
        request = ServiceRequest(CLOUDWATCH_SERVICE, "sns:Publish", topic_arn, alarm.arn, alarm.account)
        decision = self._admitted(request)
        if not decision.allowed:
            self.refused(request, decision.reason, DELIVERY)
            return
        self.sns.publish(TopicArn=topic_arn, Subject=subject, Message=json.dumps(message))
        self.succeeded(DELIVERY, topic_arn, alarm.arn)

    def _admitted(self, request: ServiceRequest) -> Decision:
        """The topic's policy, then its key's policy (CloudWatch must make a data key to publish encrypted)."""
        try:
            attributes = self.sns.get_topic_attributes(TopicArn=request.resource)["Attributes"]
        except ClientError as error:
            return Decision(False, f"{request.resource} cannot be read: {error}")
        decision = decide(attributes.get("Policy"), request)
        key = attributes.get("KmsMasterKeyId")
        if not decision.allowed or not key:
            return decision
        if key.startswith(MANAGED_KEY_PREFIX):
            return Decision(
                False,
                f"{request.resource} is encrypted with the AWS managed key {key}, whose policy cannot admit "
                f"{CLOUDWATCH_SERVICE}: give the topic a customer managed key that does",
            )
        metadata = self.kms.describe_key(KeyId=key)["KeyMetadata"]
        policy = self.kms.get_key_policy(KeyId=metadata["KeyId"], PolicyName="default")["Policy"]
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            on_key = ServiceRequest(
                request.service, action, metadata["Arn"], request.source_arn, request.source_account
            )
            decision = decide(policy, on_key)
            if not decision.allowed:
                return decision
        return decision


def _query(alarm: AlarmView, query_id: str) -> dict[str, Any]:
    metric = {
        "Namespace": alarm.namespace,
        "MetricName": alarm.metric_name,
        "Dimensions": [{"Name": name, "Value": value} for name, value in alarm.dimensions.items()],
    }
    return {"Id": query_id, "MetricStat": {"Metric": metric, "Period": alarm.period, "Stat": alarm.statistic}}


def _slots(alarm: AlarmView, start: datetime, timestamps: list[Any], values: list[float]) -> list[float | None]:
    """GetMetricData's (period start, value) pairs as one value per evaluation period from `start`, oldest first."""
    slots: list[float | None] = [None] * alarm.evaluation_periods
    for stamp, value in zip(timestamps, values, strict=False):
        index = int((stamp.timestamp() - start.timestamp()) // alarm.period)
        if 0 <= index < alarm.evaluation_periods:
            current = slots[index]
            slots[index] = value if current is None else AGGREGATES.get(alarm.statistic, max)([current, value])
    return slots


class PlacedAlarms:
    """One evaluator per account and region with deployed stacks (CloudWatch keeps alarms per account and
    region), run one after another each round."""

    def __init__(self, make: Callable[[str | None, str | None], AlarmEvaluator]) -> None:
        self._make = make
        self._evaluators: dict[tuple[str | None, str | None], AlarmEvaluator] = {}
        self._lock = threading.Lock()

    def set_places(self, places: set[tuple[str | None, str | None]]) -> None:
        """Evaluate in these places from the next round on, listing their alarms again (stacks were deployed)."""
        with self._lock:
            for place in places - set(self._evaluators):
                self._evaluators[place] = self._make(*place)
            for place in set(self._evaluators) - places:
                del self._evaluators[place]
            for evaluator in self._evaluators.values():
                evaluator.invalidate()

    def run_once(self, now: float | None = None) -> list[tuple[str, str, str]]:
        with self._lock:
            evaluators = list(self._evaluators.values())
        return [transition for evaluator in evaluators for transition in evaluator.run_once(now)]


class AlarmPoller(threading.Thread):
    """Runs the evaluator every few seconds until stopped; one bad round is logged and the next one runs."""

    def __init__(self, evaluator: AlarmEvaluator | PlacedAlarms, interval: float = EVALUATE_SECONDS) -> None:
        super().__init__(name="alarm evaluation", daemon=True)
        self.evaluator, self.interval = evaluator, interval
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.evaluator.run_once()
            except Exception:  # the emulator busy or restarting: the next round tries again
                log.exception("alarm evaluation failed; trying again")
