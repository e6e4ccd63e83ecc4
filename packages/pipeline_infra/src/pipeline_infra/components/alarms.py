"""CloudWatch metric alarms of one layer, notifying the failure topic when they fire and when they clear.

Each layer builds the specs of the resources it owns with the pure helpers below (tests call them without
Pulumi) and hands them to one `Alarms` component.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.aliases import carry_over
from pipeline_infra.function_environment import METRICS_NAMESPACE

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

TYPE_TOKEN = "pipeline-infra:shared:Alarms"

SQS_NAMESPACE = "AWS/SQS"
LAMBDA_NAMESPACE = "AWS/Lambda"
PIPES_NAMESPACE = "AWS/EventBridge/Pipes"
QUEUE_DEPTH = "ApproximateNumberOfMessagesVisible"
# Powertools adds the function's name (POWERTOOLS_SERVICE_NAME) to every metric as this dimension.
SERVICE_DIMENSION = "service"
AT_LEAST = "GreaterThanOrEqualToThreshold"
ABOVE = "GreaterThanThreshold"
BELOW = "LessThanThreshold"
# No data is no trouble: no message, no failure, no lag measured. Only a run that never happened breaches.
NOT_BREACHING = "notBreaching"
BREACHING = "breaching"


@dataclass(kw_only=True, frozen=True)
class AlarmRule:
    """When an alarm fires: the statistic reaches `threshold` in each of `evaluation_periods` periods."""

    threshold: float
    """Value that breaches."""
    period_seconds: int
    """Seconds per period."""
    evaluation_periods: int
    """Periods evaluated; every one must breach."""


@dataclass(kw_only=True, frozen=True)
class AlarmSpec:
    """One metric alarm, as the component creates it."""

    role: str
    """Logical role: the child resource is `<component name>-<role>`."""
    alarm_name: str
    """Physical name (`Names.alarm`)."""
    description: str
    """What firing means, for whoever is paged."""
    namespace: str
    """Metric namespace."""
    metric_name: str
    """Metric name."""
    dimensions: Mapping[str, pulumi.Input[str]]
    """The metric's dimensions, all of them (CloudWatch matches the exact set)."""
    statistic: str
    """Sum, Maximum, ..."""
    comparison: str
    """CloudWatch comparison operator."""
    rule: AlarmRule
    """Threshold and timing."""
    treat_missing_data: str = NOT_BREACHING
    """How a period without data counts."""


def dead_letter_queue_alarm(
    alarm_name: Callable[[str], str], purpose: str, queue_name: str, rule: AlarmRule
) -> AlarmSpec:
    """Any message visible in the dead-letter queue `purpose` (its name's purpose, e.g. `replication-dlq`)."""
    return AlarmSpec(
        role=f"{purpose}-messages",
        alarm_name=alarm_name(purpose),
        description=f"{queue_name} holds messages: something failed for good; see them, then redrive",
        namespace=SQS_NAMESPACE,
        metric_name=QUEUE_DEPTH,
        dimensions={"QueueName": queue_name},
        statistic="Maximum",
        comparison=AT_LEAST,
        rule=rule,
    )


def function_alarms(
    alarm_name: Callable[[str], str],
    purpose: str,
    function_name: pulumi.Input[str],
    errors: AlarmRule,
    throttles: AlarmRule,
) -> list[AlarmSpec]:
    """Errors and throttles of the function `purpose` (`validator`, `replicator`, ...)."""
    return [
        AlarmSpec(
            role=f"{purpose}-{kind}",
            alarm_name=alarm_name(f"{kind}-{purpose}"),
            description=f"The {purpose} function {what}",
            namespace=LAMBDA_NAMESPACE,
            metric_name=metric,
            dimensions={"FunctionName": function_name},
            statistic="Sum",
            comparison=AT_LEAST,
            rule=rule,
        )
        for kind, metric, what, rule in (
            ("errors", "Errors", "failed invocations", errors),
            ("throttles", "Throttles", "was throttled", throttles),
        )
    ]


def replication_alarms(
    alarm_name: Callable[[str], str],
    target: str,
    replicator_function_name: pulumi.Input[str],
    lag: AlarmRule,
    failures: AlarmRule,
) -> list[AlarmSpec]:
    """The replicator's own metrics for one target: lag above the threshold (RTC's 15 minutes by default), and
    changes that failed for good."""
    dimensions = {"TargetEnvironment": target, SERVICE_DIMENSION: replicator_function_name}
    return [
        AlarmSpec(
            role=f"replication-lag-{target}",
            alarm_name=alarm_name(f"replication-lag-{target}"),
            description=f"Changes reached {target} more than {lag.threshold:g} s after they were made",
            namespace=METRICS_NAMESPACE,
            metric_name="ReplicationLagSeconds",
            dimensions=dimensions,
            statistic="Maximum",
            comparison=ABOVE,
            rule=lag,
        ),
        AlarmSpec(
            role=f"replication-failures-{target}",
            alarm_name=alarm_name(f"replication-failures-{target}"),
            description=f"Changes failed for good on their way to {target}; they are in the replication DLQ",
            namespace=METRICS_NAMESPACE,
            metric_name="ReplicationFailed",
            dimensions=dimensions,
            statistic="Sum",
            comparison=AT_LEAST,
            rule=failures,
        ),
    ]


@dataclass(kw_only=True, frozen=True)
class DriftCheckWatch:
    """How the scheduled drift check is watched."""

    environment: str
    """The source environment (the broken-paths metric's dimension)."""
    targets: Sequence[str]
    """Environments it compares with the source."""
    failure_threshold: float
    """Broken paths, or differences with one target, in one run that raise the alarm."""
    period_seconds: int
    """Period of all three alarms; the staleness alarm needs every one of its periods without a run."""
    missing_periods: int
    """Periods without a run (the schedule's interval plus a margin) after which the check is missing."""


def drift_check_alarms(
    alarm_name: Callable[[str], str], function_name: pulumi.Input[str], watch: DriftCheckWatch
) -> list[AlarmSpec]:
    """The drift check finding broken replication paths or drift, and the check not having run in time.

    A run reports its findings once, so they are watched over one period as long as the window a run must fall
    in (they stay in ALARM until a later run finds nothing). Lambda publishes no `Invocations` in a period without
    a run, hence `breaching` for the missing run, which needs every period of the window empty.
    """
    one_window = AlarmRule(
        threshold=watch.failure_threshold,
        period_seconds=watch.period_seconds * watch.missing_periods,
        evaluation_periods=1,
    )
    return [
        AlarmSpec(
            role="drift-broken-paths",
            alarm_name=alarm_name("drift-broken-paths"),
            description="The drift check found a replication rule or the Pipe disabled or without its target",
            namespace=METRICS_NAMESPACE,
            metric_name="BrokenReplicationPaths",
            dimensions={"Environment": watch.environment, SERVICE_DIMENSION: function_name},
            statistic="Maximum",
            comparison=AT_LEAST,
            rule=one_window,
        ),
        *[
            AlarmSpec(
                role=f"drift-found-{target}",
                alarm_name=alarm_name(f"drift-found-{target}"),
                description=f"The drift check found {target}'s replicated data different from the source's",
                namespace=METRICS_NAMESPACE,
                metric_name="DriftCount",
                dimensions={"TargetEnvironment": target, SERVICE_DIMENSION: function_name},
                statistic="Maximum",
                comparison=AT_LEAST,
                rule=one_window,
            )
            for target in watch.targets
        ],
        AlarmSpec(
            role="drift-check-missing",
            alarm_name=alarm_name("drift-check-missing"),
            description="The drift check has not run within its schedule plus the margin: is its rule enabled?",
            namespace=LAMBDA_NAMESPACE,
            metric_name="Invocations",
            dimensions={"FunctionName": function_name},
            statistic="Sum",
            comparison=BELOW,
            rule=AlarmRule(threshold=1, period_seconds=watch.period_seconds, evaluation_periods=watch.missing_periods),
            treat_missing_data=BREACHING,
        ),
    ]


def pipe_alarm(
    alarm_name: Callable[[str], str], purpose: str, pipe_name: pulumi.Input[str], rule: AlarmRule
) -> AlarmSpec:
    """Failed executions of the Pipe `purpose` (`config-stream`): config changes not reaching the bus."""
    return AlarmSpec(
        role=f"pipe-failures-{purpose}",
        alarm_name=alarm_name(f"pipe-failures-{purpose}"),
        description="The Pipe from the config table's stream failed to put changes on the replication bus",
        namespace=PIPES_NAMESPACE,
        metric_name="ExecutionFailed",
        dimensions={"PipeName": pipe_name},
        statistic="Sum",
        comparison=AT_LEAST,
        rule=rule,
    )


@dataclass(kw_only=True, frozen=True)
class AlarmsArgs:
    alarms: Sequence[AlarmSpec]
    """The layer's alarms."""
    topic_arn: pulumi.Input[str]
    """The failure topic: told when an alarm fires and when it clears."""


class Alarms(pulumi.ComponentResource):
    alarm_arns: pulumi.Output[list[str]]

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        child = pulumi.ResourceOptions(parent=self)
        created = [
            aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.role}",
                name=spec.alarm_name,
                alarm_description=spec.description,
                namespace=spec.namespace,
                metric_name=spec.metric_name,
                dimensions=dict(spec.dimensions),
                statistic=spec.statistic,
                comparison_operator=spec.comparison,
                threshold=spec.rule.threshold,
                period=spec.rule.period_seconds,
                evaluation_periods=spec.rule.evaluation_periods,
                datapoints_to_alarm=spec.rule.evaluation_periods,
                treat_missing_data=spec.treat_missing_data,
                alarm_actions=[args.topic_arn],
                ok_actions=[args.topic_arn],
                opts=child,
            )
            for spec in args.alarms
        ]
        self.alarm_arns = pulumi.Output.all(*[alarm.arn for alarm in created])
        self.register_outputs({"alarm_arns": self.alarm_arns})
