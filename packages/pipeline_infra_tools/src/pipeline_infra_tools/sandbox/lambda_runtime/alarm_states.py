"""What CloudWatch decides about a metric alarm, and the notification it sends: pure, so tests need no emulator.

    alarm = AlarmView.from_api(describe_alarms_entry)
    result = evaluate(alarm, values)            # values: one per evaluation period, oldest first, None = no data
    if result.state != alarm.state: message = notification(alarm, result, now)

An alarm is in ALARM when at least `datapoints_to_alarm` of its last `evaluation_periods` periods breach the
threshold; a period without data counts as `treat_missing_data` says (`breaching`, `notBreaching`; `ignore`
keeps the state; `missing` leaves it out, and with no data at all the state is INSUFFICIENT_DATA).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

ALARM, OK, INSUFFICIENT_DATA = "ALARM", "OK", "INSUFFICIENT_DATA"
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", lambda value, threshold: value >= threshold),
    "GreaterThanThreshold": ("greater than", lambda value, threshold: value > threshold),
    "LessThanThreshold": ("less than", lambda value, threshold: value < threshold),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda value, threshold: value <= threshold),
}
# How CloudWatch names a region in notifications; others are named by their code.
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-central-1": "EU (Frankfurt)",
}


@dataclass(frozen=True)
class AlarmView:
    """One metric alarm as DescribeAlarms reports it."""

    name: str
    arn: str
    namespace: str
    metric_name: str
    dimensions: dict[str, str]
    statistic: str
    comparison: str
    threshold: float
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str
    state: str
    actions_enabled: bool = True
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    description: str = ""
    updated: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, alarm: dict[str, Any]) -> AlarmView:
        periods = int(alarm.get("EvaluationPeriods") or 1)
        updated: Any = alarm.get("AlarmConfigurationUpdatedTimestamp")
        return cls(
            name=str(alarm["AlarmName"]),
            arn=str(alarm["AlarmArn"]),
            namespace=str(alarm.get("Namespace") or ""),
            metric_name=str(alarm.get("MetricName") or ""),
            dimensions={str(d["Name"]): str(d["Value"]) for d in alarm.get("Dimensions") or []},
            statistic=str(alarm.get("Statistic") or "Average"),
            comparison=str(alarm.get("ComparisonOperator") or ""),
            threshold=float(alarm.get("Threshold") or 0.0),
            period=int(alarm.get("Period") or 60),
            evaluation_periods=periods,
            datapoints_to_alarm=int(alarm.get("DatapointsToAlarm") or periods),
            treat_missing_data=str(alarm.get("TreatMissingData") or "missing"),
            state=str(alarm.get("StateValue") or INSUFFICIENT_DATA),
            actions_enabled=bool(alarm.get("ActionsEnabled", True)),
            alarm_actions=tuple(alarm.get("AlarmActions") or ()),
            ok_actions=tuple(alarm.get("OKActions") or ()),
            insufficient_data_actions=tuple(alarm.get("InsufficientDataActions") or ()),
            description=str(alarm.get("AlarmDescription") or ""),
            updated=updated.isoformat() if isinstance(updated, datetime) else str(updated or ""),
            raw=alarm,
        )

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    def actions_for(self, state: str) -> tuple[str, ...]:
        if not self.actions_enabled:
            return ()
        return {ALARM: self.alarm_actions, OK: self.ok_actions}.get(state, self.insufficient_data_actions)


@dataclass(frozen=True)
class Evaluation:
    """The state the alarm's data puts it in, and why, in CloudWatch's words."""

    state: str
    reason: str
    data: dict[str, Any]


def evaluate(alarm: AlarmView, values: Sequence[float | None]) -> Evaluation:
    """The alarm's state for these per-period values (oldest first; None where a period has no data)."""
    if alarm.comparison not in COMPARISONS:
        raise ValueError(f"{alarm.name}: comparison {alarm.comparison!r} is not one of {sorted(COMPARISONS)}")
    words, breaches = COMPARISONS[alarm.comparison]
    recent = list(values)[-alarm.evaluation_periods :]
    present = [v for v in recent if v is not None]
    missing = len(recent) - len(present)
    data = {
        "version": "1.0",
        "statistic": alarm.statistic,
        "period": alarm.period,
        "recentDatapoints": present,
        "threshold": alarm.threshold,
    }
    treat = alarm.treat_missing_data
    if not present and treat in ("missing", "ignore"):
        state = alarm.state if treat == "ignore" else INSUFFICIENT_DATA
        return Evaluation(state, f"Insufficient Data: {len(recent)} datapoints were unknown.", data)
    breaching = sum(1 for v in present if breaches(v, alarm.threshold))
    if treat == "breaching":
        breaching += missing
    state = ALARM if breaching >= alarm.datapoints_to_alarm else OK
    shown = ", ".join(f"{v:g}" for v in present[-5:])
    negation = "" if state == ALARM else "not "
    if present:
        reason = (
            f"Threshold Crossed: {len(present)} datapoint{'s' if len(present) != 1 else ''} [{shown}] "
            f"{'was' if len(present) == 1 else 'were'} {negation}{words} the threshold ({alarm.threshold:g})."
        )
    else:
        reason = f"Threshold Crossed: no datapoints were received for {len(recent)} periods"
    if missing and treat in ("breaching", "notBreaching"):
        label = "Breaching" if treat == "breaching" else "NonBreaching"
        reason = f"{reason.rstrip('.')} and {missing} missing datapoints were treated as [{label}]."
    return Evaluation(state, reason, data)


def notification(alarm: AlarmView, result: Evaluation, when: datetime) -> tuple[str, dict[str, Any]]:
    """(subject, message) of the SNS notification CloudWatch sends when the alarm changes state."""
    region = REGION_NAMES.get(alarm.region, alarm.region)
    message = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description or None,
        "AWSAccountId": alarm.account,
        "AlarmConfigurationUpdatedTimestamp": alarm.updated,
        "NewStateValue": result.state,
        "NewStateReason": result.reason,
        "StateChangeTime": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000",
        "Region": region,
        "AlarmArn": alarm.arn,
        "OldStateValue": alarm.state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "Statistic",
            "Statistic": alarm.statistic.upper(),
            "Unit": None,
            "Dimensions": [{"value": value, "name": name} for name, value in alarm.dimensions.items()],
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "DatapointsToAlarm": alarm.datapoints_to_alarm,
            "ComparisonOperator": alarm.comparison,
            "Threshold": alarm.threshold,
            "TreatMissingData": alarm.treat_missing_data,
            "EvaluateLowSampleCountPercentile": "",
        },
    }
    subject = f'{result.state}: "{alarm.name}" in {region}'
    # SNS subjects are at most 100 characters.
    return subject[:100], message
