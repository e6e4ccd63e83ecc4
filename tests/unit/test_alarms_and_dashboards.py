"""Alarms and dashboards in the rendered graph of every environment, and the dashboard body's pure function."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_infra.components import DashboardContent, dashboard_body
from pipeline_infra.naming import Names
from tests.unit.conftest import ENVIRONMENTS, stack

if TYPE_CHECKING:
    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.engine import RecordedResource

ALARM_TYPE = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD_TYPE = "aws:cloudwatch/dashboard:Dashboard"


def alarms_by_name(rendered: dict[tuple[str, str], Any], env: str) -> dict[str, RecordedResource]:
    found = {}
    for (_layer, stack_env), result in rendered.items():
        if stack_env == env:
            found.update({r.inputs["name"]: r for r in result.of_type(ALARM_TYPE)})
    return found


def failure_topic(rendered: dict[tuple[str, str], Any], env: str) -> str:
    return str(stack(rendered, "notifications", env).named("topics-failure").outputs["arn"])


def check(alarm: RecordedResource, metric: tuple[str, str], dimensions: dict[str, str], comparison: str) -> None:
    inputs = alarm.inputs
    assert (inputs["namespace"], inputs["metricName"]) == metric, alarm.urn
    assert inputs["dimensions"] == dimensions, alarm.urn
    assert inputs["comparisonOperator"] == comparison, alarm.urn


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_alarm_notifies_the_failure_topic_when_it_fires_and_when_it_clears(
    rendered: dict[tuple[str, str], Any], env: str
) -> None:
    topic = failure_topic(rendered, env)
    alarms = alarms_by_name(rendered, env)
    assert alarms, f"{env} has no alarms"
    for alarm in alarms.values():
        assert alarm.inputs["alarmActions"] == [topic], alarm.urn
        assert alarm.inputs["okActions"] == [topic], alarm.urn
        assert alarm.inputs["name"].startswith("alarm-") and alarm.inputs["name"].endswith(f"-{env}-pl01"), alarm.urn


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_dead_letter_queue_alarms_on_any_message(
    rendered: dict[tuple[str, str], Any], settings: Settings, env: str
) -> None:
    names, monitoring = Names(settings.project, settings.env(env)), settings.env(env).monitoring
    alarms = alarms_by_name(rendered, env)
    queues = [q.inputs["name"] for q in stack(rendered, "notifications", env).of_type("aws:sqs/queue:Queue")]
    dead_letter_queues = [q for q in queues if q.endswith(f"-dlq-{env}-pl01")]
    assert sorted(dead_letter_queues) == sorted([names.queue("replication-dlq"), names.queue("tasks-dlq")])
    for purpose in ("replication-dlq", "tasks-dlq"):
        alarm = alarms[names.alarm(purpose)]
        dimensions = {"QueueName": names.queue(purpose)}
        check(alarm, ("AWS/SQS", "ApproximateNumberOfMessagesVisible"), dimensions, "GreaterThanOrEqualToThreshold")
        assert (alarm.inputs["threshold"], alarm.inputs["statistic"]) == (1, "Maximum"), alarm.urn
        assert alarm.inputs["period"] == monitoring.dead_letter_queues.period_seconds, alarm.urn
        assert alarm.inputs["evaluationPeriods"] == monitoring.dead_letter_queues.evaluation_periods, alarm.urn


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_function_alarms_on_errors_and_throttles(
    rendered: dict[tuple[str, str], Any], settings: Settings, env: str
) -> None:
    names, monitoring = Names(settings.project, settings.env(env)), settings.env(env).monitoring
    alarms = alarms_by_name(rendered, env)
    functions = [f for (_l, e), s in rendered.items() if e == env for f in s.of_type("aws:lambda/function:Function")]
    assert len(functions) == (4 if env == "prod" else 2)
    for function in functions:
        purpose = function.inputs["name"].removeprefix("lambda-").removesuffix(f"-{env}-pl01")
        for kind, metric, rule in (
            ("errors", "Errors", monitoring.function_errors),
            ("throttles", "Throttles", monitoring.function_throttles),
        ):
            alarm = alarms[names.alarm(f"{kind}-{purpose}")]
            dimensions = {"FunctionName": function.inputs["name"]}
            check(alarm, ("AWS/Lambda", metric), dimensions, "GreaterThanOrEqualToThreshold")
            assert alarm.inputs["threshold"] == rule.threshold, alarm.urn
            assert alarm.inputs["period"] == rule.period_seconds, alarm.urn


def test_dev_relaxes_function_errors_as_its_settings_say(rendered: dict[tuple[str, str], Any]) -> None:
    dev = alarms_by_name(rendered, "dev")["alarm-errors-validator-dev-pl01"]
    prod = alarms_by_name(rendered, "prod")["alarm-errors-validator-prod-pl01"]
    assert (dev.inputs["threshold"], prod.inputs["threshold"]) == (5, 1)


def test_prod_alarms_on_replication_lag_failures_the_drift_check_and_the_pipe(
    rendered: dict[tuple[str, str], Any], settings: Settings
) -> None:
    prod = settings.env("prod")
    names, monitoring = Names(settings.project, prod), prod.monitoring
    alarms = alarms_by_name(rendered, "prod")
    replicator, checker = names.function("replicator"), names.function("drift-checker")
    for target in prod.replication.targets:
        lag = alarms[names.alarm(f"replication-lag-{target}")]
        dims = {"TargetEnvironment": target, "service": replicator}
        check(lag, ("PipelineInfra", "ReplicationLagSeconds"), dims, "GreaterThanThreshold")
        assert (lag.inputs["threshold"], lag.inputs["statistic"]) == (900, "Maximum"), lag.urn
        failed = alarms[names.alarm(f"replication-failures-{target}")]
        check(failed, ("PipelineInfra", "ReplicationFailed"), dims, "GreaterThanOrEqualToThreshold")
        assert failed.inputs["threshold"] == monitoring.replication_failures.threshold
        drift = alarms[names.alarm(f"drift-found-{target}")]
        check(
            drift,
            ("PipelineInfra", "DriftCount"),
            {"TargetEnvironment": target, "service": checker},
            "GreaterThanOrEqualToThreshold",
        )
    broken = alarms[names.alarm("drift-broken-paths")]
    check(
        broken,
        ("PipelineInfra", "BrokenReplicationPaths"),
        {"Environment": "prod", "service": checker},
        "GreaterThanOrEqualToThreshold",
    )
    # A daily drift check is missing after 25 hours without an invocation: every hourly period empty
    missing = alarms[names.alarm("drift-check-missing")]
    check(missing, ("AWS/Lambda", "Invocations"), {"FunctionName": checker}, "LessThanThreshold")
    assert missing.inputs["treatMissingData"] == "breaching", missing.urn
    assert (missing.inputs["period"], missing.inputs["evaluationPeriods"]) == (3600, 25), missing.urn
    assert missing.inputs["datapointsToAlarm"] == 25, missing.urn
    assert broken.inputs["period"] == 25 * 3600, broken.urn
    pipe = alarms[names.alarm("pipe-failures-config-stream")]
    check(
        pipe,
        ("AWS/EventBridge/Pipes", "ExecutionFailed"),
        {"PipeName": names.resource("pipe", "config-stream")},
        "GreaterThanOrEqualToThreshold",
    )


@pytest.mark.parametrize("env", ("dev", "staging"))
def test_only_the_source_alarms_on_replication(rendered: dict[tuple[str, str], Any], env: str) -> None:
    assert not [n for n in alarms_by_name(rendered, env) if "replication-lag" in n or "drift" in n]


def test_the_failure_topic_admits_only_the_environments_alarms_and_its_key_lets_cloudwatch_use_it(
    rendered: dict[tuple[str, str], Any], settings: Settings
) -> None:
    for env in ENVIRONMENTS:
        notifications = stack(rendered, "notifications", env)
        topic, key = notifications.named("topics-failure"), notifications.named("topics-failure-key")
        [statement] = json.loads(topic.inputs["policy"])["Statement"]
        alarms = f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:alarm-*-{env}-pl01"
        assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}, topic.urn
        assert statement["Resource"] == topic.outputs["arn"], topic.urn
        assert statement["Condition"]["ArnLike"] == {"aws:SourceArn": alarms}, topic.urn
        assert key.inputs["enableKeyRotation"] is True, key.urn
        cloudwatch = [s for s in json.loads(key.inputs["policy"])["Statement"] if s["Sid"] == "CloudWatchAlarmsPublish"]
        assert cloudwatch and cloudwatch[0]["Condition"]["ArnLike"] == {"aws:SourceArn": alarms}, key.urn


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_has_a_dashboard_of_its_queues_and_functions(
    rendered: dict[tuple[str, str], Any], settings: Settings, env: str
) -> None:
    names = Names(settings.project, settings.env(env))
    [dashboard] = stack(rendered, "processing", env).of_type(DASHBOARD_TYPE)
    assert dashboard.inputs["dashboardName"] == names.dashboard("pipeline")
    body = json.loads(dashboard.inputs["dashboardBody"])
    metrics = [m for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]]
    assert ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", names.queue("tasks-dlq")] in metrics
    assert ["AWS/Lambda", "Errors", "FunctionName", names.function("validator")] in metrics


def test_prod_has_a_replication_dashboard(rendered: dict[tuple[str, str], Any], settings: Settings) -> None:
    names = Names(settings.project, settings.env("prod"))
    [dashboard] = stack(rendered, "replication", "prod").of_type(DASHBOARD_TYPE)
    assert dashboard.inputs["dashboardName"] == names.dashboard("replication")
    titles = [w["properties"].get("title") for w in json.loads(dashboard.inputs["dashboardBody"])["widgets"]]
    assert "Replication lag (seconds)" in titles


# -- the dashboard body, without Pulumi --------------------------------------------------------------------------
SOURCE = DashboardContent(
    title="Replication: prod (us-east-1)",
    region="us-east-1",
    dead_letter_queues=["sqs-replication-dlq-prod-x"],
    functions=["lambda-replicator-prod-x"],
    replicator_function="lambda-replicator-prod-x",
    replication_targets=("dev", "staging"),
)


def widget(body: dict[str, Any], title: str) -> dict[str, Any]:
    [found] = [w for w in body["widgets"] if w["properties"].get("title") == title]
    return found


def test_the_body_shows_replication_outcomes_lag_percentiles_and_bytes_per_target() -> None:
    body = dashboard_body(SOURCE)
    outcomes = widget(body, "Replication: changes succeeded and failed")["properties"]["metrics"]
    dims = ["TargetEnvironment", "dev", "service", "lambda-replicator-prod-x"]
    assert ["PipelineInfra", "ReplicationSucceeded", *dims, {"label": "dev succeeded"}] in outcomes
    assert ["PipelineInfra", "ReplicationFailed", *dims, {"label": "dev failed"}] in outcomes
    lag = widget(body, "Replication lag (seconds)")["properties"]["metrics"]
    assert [m[-1]["stat"] for m in lag if m[3] == "staging"] == ["p50", "p95", "p99", "Maximum"]
    copied = widget(body, "Replication: bytes copied")["properties"]
    assert copied["stat"] == "Sum" and len(copied["metrics"]) == 2


def test_the_body_shows_queue_depths_function_errors_and_durations() -> None:
    body = dashboard_body(SOURCE)
    depth = widget(body, "Dead-letter queues: messages visible")["properties"]
    assert depth["metrics"] == [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "sqs-replication-dlq-prod-x"]
    ]
    assert depth["stat"] == "Maximum"
    errors = widget(body, "Function errors")["properties"]["metrics"]
    assert errors == [["AWS/Lambda", "Errors", "FunctionName", "lambda-replicator-prod-x"]]
    durations = widget(body, "Function duration (ms)")["properties"]["metrics"]
    assert [m[-1]["stat"] for m in durations] == ["p50", "p95", "Maximum"]


def test_without_a_replicator_the_body_has_no_replication_widgets_and_fits_the_grid() -> None:
    body = dashboard_body(DashboardContent(title="t", region="eu-west-1", dead_letter_queues=["q"], functions=["f"]))
    assert not [w for w in body["widgets"] if "Replication" in str(w["properties"].get("title"))]
    assert all(w["width"] <= 24 for w in body["widgets"])
    assert {w["properties"]["region"] for w in body["widgets"] if w["type"] == "metric"} == {"eu-west-1"}
    assert json.loads(json.dumps(body)) == body
