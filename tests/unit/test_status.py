"""`pipeline-infra status`'s judgement and its EMF publishing path, without an emulator."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from pipeline_infra_tools.operations.status import StatusReport, problems_of, schedule_interval
from pipeline_infra_tools.sandbox.lambda_runtime.metric_publisher import MetricPublisher
from tests.unit.test_emf import record


def report(**changes: Any) -> StatusReport:
    values: dict[str, Any] = {
        "environment": "prod",
        "window": {},
        "replication": {
            "targets": {"dev": {"failed": 0}},
            "totals": {"rejected": 0, "dead_lettered": 0},
        },
        "dead_letter_queues": [{"name": "sqs-replication-dlq-prod-pl01", "depth": 0}],
        "alarms": {"in_alarm": []},
        "drift_check": {
            "result": "clean",
            "drift": {"dev": 0},
            "broken_paths": 0,
            "schedule": "rate(1 day)",
            "stale_after_minutes": 1500,
        },
    }
    values.update(changes)
    built = StatusReport(**values)
    built.problems = problems_of(built)
    return built


def test_a_clean_report_is_healthy_and_exits_0() -> None:
    assert report().problems == [] and report().exit_code() == 0


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"dead_letter_queues": [{"name": "sqs-replication-dlq-prod-pl01", "depth": 2}]}, "holds 2 message"),
        ({"alarms": {"in_alarm": [{"name": "alarm-dlq-prod-pl01", "reason": "1 > 0"}]}}, "alarm-dlq-prod-pl01"),
        (
            {"replication": {"targets": {"dev": {"failed": 3}}, "totals": {"rejected": 0, "dead_lettered": 0}}},
            "3 change(s) failed to replicate to dev",
        ),
        (
            {
                "drift_check": {
                    "result": "not run",
                    "drift": {},
                    "broken_paths": 0,
                    "schedule": "rate(1 day)",
                    "stale_after_minutes": 1500,
                }
            },
            "no drift check completed in the last 1500 minutes",
        ),
        (
            {
                "drift_check": {
                    "result": "drift",
                    "drift": {"dev": 4},
                    "broken_paths": 0,
                    "schedule": "rate(1 day)",
                    "stale_after_minutes": 1500,
                }
            },
            "found drift (dev: 4)",
        ),
    ],
)
def test_each_kind_of_trouble_needs_attention_and_is_named(change: dict[str, Any], named: str) -> None:
    judged = report(**change)
    assert judged.exit_code() == 1
    assert any(named in problem for problem in judged.problems), judged.problems


def test_schedule_intervals_come_from_rate_expressions_and_cron_counts_as_daily() -> None:
    assert schedule_interval("rate(1 day)") == timedelta(days=1)
    assert schedule_interval("rate(15 minutes)") == timedelta(minutes=15)
    assert schedule_interval("rate(2 hours)") == timedelta(hours=2)
    assert schedule_interval("cron(0 3 * * ? *)") == timedelta(days=1)


class _Refusing:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_metric_data(self, **request: Any) -> None:
        self.calls.append(request)
        raise ConnectionError("emulator gone")


def test_a_publish_that_fails_is_one_logged_line_and_never_reaches_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    client = _Refusing()
    publisher = MetricPublisher(lambda _region: client)
    with caplog.at_level(logging.WARNING, logger="pipeline_infra_tools.sandbox.runtime"):
        publisher.submit("lambda-replicator-prod-pl01", "us-east-1", [record(), record()])
        assert publisher.flush(5.0)
        publisher.close()
    assert len(client.calls) == 1, "both records went in one batched request"
    assert len(client.calls[0]["MetricData"]) == 2
    [line] = [r.msg for r in caplog.records]
    assert isinstance(line, dict) and line["event"] == "emf_publish_failed"
    assert line["function"] == "lambda-replicator-prod-pl01" and "emulator gone" in line["error"]
