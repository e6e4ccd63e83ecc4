"""A CloudWatch dashboard: replication health (where replication runs), dead-letter queues, functions.

Every environment's processing layer has one of its functions and queues; prod's replication layer has one of
replication. The body is built by `dashboard_body`, a pure function of names, so tests read the JSON without Pulumi.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.alarms import (
    LAMBDA_NAMESPACE,
    QUEUE_DEPTH,
    SERVICE_DIMENSION,
    SQS_NAMESPACE,
)
from pipeline_infra.components.aliases import carry_over
from pipeline_infra.function_environment import METRICS_NAMESPACE

if TYPE_CHECKING:
    from collections.abc import Sequence

TYPE_TOKEN = "pipeline-infra:shared:Dashboard"
# The dashboard grid is 24 units wide; two widgets side by side.
HALF_WIDTH, HEIGHT = 12, 6
LAG_PERCENTILES = ("p50", "p95", "p99", "Maximum")
DURATION_STATISTICS = ("p50", "p95", "Maximum")
PERIOD_SECONDS = 300


@dataclass(kw_only=True, frozen=True)
class DashboardContent:
    """What one dashboard shows, by name."""

    title: str
    """Its heading."""
    region: str
    """Where its metrics are."""
    dead_letter_queues: Sequence[str]
    """Names of its dead-letter queues."""
    functions: Sequence[str]
    """Names of its functions."""
    replicator_function: str | None = None
    """The replicator, whose replication metrics to show (they carry its name as `service`); None shows none."""
    replication_targets: Sequence[str] = ()
    """Environments the source replicates to."""


def _metric(namespace: str, name: str, dimensions: dict[str, str], **options: Any) -> list[Any]:
    line: list[Any] = [namespace, name]
    for key, value in dimensions.items():
        line.extend([key, value])
    return [*line, options] if options else line


def _widget(title: str, metrics: list[list[Any]], region: str, stat: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "width": HALF_WIDTH,
        "height": HEIGHT,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stat": stat,
            "period": PERIOD_SECONDS,
            "metrics": metrics,
            **properties,
        },
    }


def _replication_widgets(content: DashboardContent) -> list[dict[str, Any]]:
    replicator, region = content.replicator_function, content.region
    if replicator is None or not content.replication_targets:
        return []

    outcomes = [
        *[
            _metric(METRICS_NAMESPACE, "ReplicationSucceeded", dims(target, replicator), label=f"{target} succeeded")
            for target in content.replication_targets
        ],
        *[
            _metric(METRICS_NAMESPACE, "ReplicationFailed", dims(target, replicator), label=f"{target} failed")
            for target in content.replication_targets
        ],
    ]
    lag = [
        _metric(
            METRICS_NAMESPACE, "ReplicationLagSeconds", dims(target, replicator), stat=stat, label=f"{target} {stat}"
        )
        for target in content.replication_targets
        for stat in LAG_PERCENTILES
    ]
    copied = [
        _metric(METRICS_NAMESPACE, "BytesCopied", dims(target, replicator), label=target)
        for target in content.replication_targets
    ]
    return [
        _widget("Replication: changes succeeded and failed", outcomes, region, "Sum"),
        _widget("Replication lag (seconds)", lag, region, "p95"),
        _widget("Replication: bytes copied", copied, region, "Sum"),
    ]


def dims(target: str, replicator: str) -> dict[str, str]:
    """The replicator's metric dimensions for one target (Powertools adds the function's name as `service`)."""
    return {"TargetEnvironment": target, SERVICE_DIMENSION: replicator}


def dashboard_body(content: DashboardContent) -> dict[str, Any]:
    """The dashboard's JSON body (CloudWatch's dashboard body structure): replication successes and failures, lag
    percentiles and bytes copied (where replication runs), dead-letter queue depths, function errors and
    durations."""
    region = content.region
    queues = [_metric(SQS_NAMESPACE, QUEUE_DEPTH, {"QueueName": queue}) for queue in content.dead_letter_queues]
    errors = [_metric(LAMBDA_NAMESPACE, "Errors", {"FunctionName": f}) for f in content.functions]
    durations = [
        _metric(LAMBDA_NAMESPACE, "Duration", {"FunctionName": f}, stat=stat, label=f"{f} {stat}")
        for f in content.functions
        for stat in DURATION_STATISTICS
    ]
    header = {
        "type": "text",
        "width": 2 * HALF_WIDTH,
        "height": 1,
        "properties": {"markdown": f"# {content.title}"},
    }
    widgets = [
        header,
        *_replication_widgets(content),
        _widget("Dead-letter queues: messages visible", queues, region, "Maximum"),
        _widget("Function errors", errors, region, "Sum"),
        _widget("Function duration (ms)", durations, region, "p95"),
    ]
    return {"widgets": widgets}


@dataclass(kw_only=True, frozen=True)
class DashboardArgs:
    dashboard_name: str
    """Physical name (`Names.dashboard`)."""
    content: DashboardContent
    """What it shows."""


class Dashboard(pulumi.ComponentResource):
    dashboard_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.dashboard_name,
            dashboard_body=json.dumps(dashboard_body(args.content), sort_keys=True),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dashboard_arn = dashboard.dashboard_arn
        self.register_outputs({"dashboard_arn": self.dashboard_arn})
