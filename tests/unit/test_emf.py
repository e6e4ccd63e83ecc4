"""EMF records as CloudWatch Logs reads them, turned into PutMetricData requests (no emulator)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline_infra_tools.lambda_worker import JsonLines, take_metrics
from pipeline_infra_tools.sandbox.emulator.metric_statistics import nearest_rank
from pipeline_infra_tools.sandbox.lambda_runtime.emf import (
    MAX_DATA_PER_REQUEST,
    EmfFormatError,
    is_emf,
    metric_data,
    put_metric_data_requests,
)

STAMP = 1_700_000_000_123


def record(**members: Any) -> dict[str, Any]:
    """What Powertools' single_metric prints for a lag sample with the replicator's dimensions."""
    return {
        "_aws": {
            "Timestamp": STAMP,
            "CloudWatchMetrics": [
                {
                    "Namespace": "PipelineInfra",
                    "Dimensions": [["TargetEnvironment", "service"]],
                    "Metrics": [{"Name": "ReplicationLagSeconds", "Unit": "Seconds"}],
                }
            ],
        },
        "TargetEnvironment": "dev",
        "service": "lambda-replicator-prod-pl01",
        "ReplicationLagSeconds": [1.5],
        **members,
    }


def test_a_powertools_record_becomes_one_datum_with_its_namespace_dimensions_unit_and_time() -> None:
    [datum] = metric_data(record())
    assert datum.namespace == "PipelineInfra"
    assert datum.datum == {
        "MetricName": "ReplicationLagSeconds",
        "Dimensions": [
            {"Name": "TargetEnvironment", "Value": "dev"},
            {"Name": "service", "Value": "lambda-replicator-prod-pl01"},
        ],
        "Timestamp": datetime.fromtimestamp(STAMP / 1000, UTC),
        "Unit": "Seconds",
        "Values": [1.5],
        "Counts": [1.0],
    }


def test_every_dimension_set_and_metric_is_its_own_datum_and_repeated_values_are_counted() -> None:
    emf = record(Bytes=[10, 10, 20])
    emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = [["TargetEnvironment"], ["service"], []]
    emf["_aws"]["CloudWatchMetrics"][0]["Metrics"].append({"Name": "Bytes", "Unit": "Bytes", "StorageResolution": 1})
    data = metric_data(emf)
    assert len(data) == 6, "2 metrics x 3 dimension sets"
    bytes_data = [d.datum for d in data if d.datum["MetricName"] == "Bytes"]
    assert [[x["Name"] for x in d["Dimensions"]] for d in bytes_data] == [["TargetEnvironment"], ["service"], []]
    assert bytes_data[0]["Values"] == [10.0, 20.0] and bytes_data[0]["Counts"] == [2.0, 1.0]
    assert bytes_data[0]["StorageResolution"] == 1
    assert "StorageResolution" not in data[0].datum


def test_a_plain_number_and_a_missing_unit_are_accepted() -> None:
    emf = record(ReplicationLagSeconds=3)
    del emf["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"]
    [datum] = metric_data(emf)
    assert datum.datum["Values"] == [3.0] and datum.datum["Unit"] == "None"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"TargetEnvironment": 7}, "dimension 'TargetEnvironment'"),
        ({"ReplicationLagSeconds": "slow"}, "metric 'ReplicationLagSeconds'"),
        ({"ReplicationLagSeconds": []}, "1 to 100 values"),
    ],
)
def test_a_malformed_record_is_refused_naming_what_is_wrong(change: dict[str, Any], message: str) -> None:
    with pytest.raises(EmfFormatError, match=message):
        metric_data(record(**change))


def test_a_record_without_a_timestamp_or_namespace_is_refused() -> None:
    emf = record()
    emf["_aws"]["Timestamp"] = "now"
    with pytest.raises(EmfFormatError, match="Timestamp"):
        metric_data(emf)
    emf = record()
    del emf["_aws"]["CloudWatchMetrics"][0]["Namespace"]
    with pytest.raises(EmfFormatError, match="Namespace"):
        metric_data(emf)


def test_requests_hold_one_namespace_each_and_at_most_the_put_limit() -> None:
    other = record()
    other["_aws"]["CloudWatchMetrics"][0]["Namespace"] = "Other"
    data = metric_data(record()) * (MAX_DATA_PER_REQUEST + 1) + metric_data(other)
    requests = put_metric_data_requests(data)
    assert [(r["Namespace"], len(r["MetricData"])) for r in requests] == [
        ("PipelineInfra", MAX_DATA_PER_REQUEST),
        ("PipelineInfra", 1),
        ("Other", 1),
    ]


def test_only_records_with_metric_directives_are_emf() -> None:
    assert is_emf(record())
    assert not is_emf({"level": "INFO", "message": "replication succeeded"})
    assert not is_emf({"_aws": {"Timestamp": STAMP}})


def test_the_worker_hands_back_the_emf_lines_a_handler_prints_and_logs_every_line(tmp_path: Any) -> None:
    log = (tmp_path / "fn.log").open("w", encoding="utf-8")
    stdout = JsonLines(log, "stdout", "INFO")
    stdout.write('{"level": "INFO", "message": "hello"}\n')
    stdout.write(__import__("json").dumps(record()) + "\n")
    stdout.write("a stray print\n")
    log.close()
    assert take_metrics(stdout) == [record()]
    assert take_metrics(stdout) == [], "taken once, with the invocation that printed them"
    assert len((tmp_path / "fn.log").read_text().splitlines()) == 3


def test_percentiles_are_nearest_rank_over_the_samples() -> None:
    samples = [float(v) for v in range(1, 21)]
    assert nearest_rank(samples, 50) == 10.0
    assert nearest_rank(samples, 95) == 19.0
    assert nearest_rank(samples, 100) == 20.0
    assert nearest_rank([], 50) is None
