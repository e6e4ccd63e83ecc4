"""`pipeline-infra status` and `pipeline-infra graph` run as a user runs them, on the session sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.helpers import cli, cli_json, take_dead_letters, unique, wait_for, wait_for_object

if TYPE_CHECKING:
    import subprocess

    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration
# The runtime publishes EMF metrics from a background thread: status is asked again until they arrive.
METRICS_SECONDS = 60.0


def status(sandbox: DeployedSandbox, since: datetime) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    completed = cli(sandbox.workspace.root, "status", "--env", "prod", "--since", since.isoformat(), "--format", "json")
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    return completed, cli_json(completed)


@pytest.mark.quiet_sandbox
def test_status_counts_a_replicated_change_and_exits_0_when_all_is_well(sandbox: DeployedSandbox) -> None:
    root, targets = sandbox.workspace.root, list(sandbox.settings.source.replication.targets)
    since = datetime.now(UTC) - timedelta(seconds=1)
    # GIVEN replicas in line with prod (resynced, as an operator repairs) and a change replicated to every target
    for env in targets:
        resynced = cli(root, "resync", "--from", "prod", "--to", env, "--format", "json")
        assert resynced.returncode == 0, f"resync to {env} left differences: {resynced.stdout}{resynced.stderr}"
    s3, prod = sandbox.client("s3"), sandbox.outputs("storage", "prod")
    key = f"config/status/{unique('status')}.json"
    s3.put_object(Bucket=prod["bucket_name"], Key=key, Body=b'{"status": true}')
    for env in targets:
        wait_for_object(s3, sandbox.outputs("storage", env)["bucket_name"], key)
    # AND a drift check that ran just now
    checker = sandbox.outputs("replication", "prod")["drift_checker_function_name"]
    invoked = cli(root, "sandbox", "invoke", "--function", checker)
    assert invoked.returncode == 0, invoked.stdout + invoked.stderr

    # WHEN status is asked for the window since the test began
    def replicated() -> tuple[subprocess.CompletedProcess[str], dict[str, Any]] | None:
        completed, report = status(sandbox, since)
        counted = report["replication"]["targets"]
        return (completed, report) if all(counted.get(env, {}).get("succeeded", 0) >= 1 for env in targets) else None

    completed, report = wait_for(replicated, "the replicated change in status's counts", METRICS_SECONDS)
    # THEN the change is counted per target with its lag, and nothing needs attention
    assert completed.returncode == 0, f"status reports problems: {report['problems']}"
    assert report["healthy"] is True and report["problems"] == []
    for env in targets:
        counted = report["replication"]["targets"][env]
        assert counted["changes"] >= 1 and counted["failed"] == 0, counted
        lag = counted["lag_seconds"]
        assert lag is not None and lag["samples"] >= 1 and 0 <= lag["p50"] <= lag["p95"] <= lag["max"], counted
    queues = {q["output"]: q["depth"] for q in report["dead_letter_queues"]}
    assert queues == {"replication_dlq_url": 0, "task_dlq_url": 0}, queues
    assert report["alarms"]["in_alarm"] == []
    check = report["drift_check"]
    assert check["result"] == "clean" and check["last_run"] is not None, check
    assert set(check["drift"]) == set(targets)


def test_status_reports_a_message_in_a_dlq_and_exits_1(sandbox: DeployedSandbox) -> None:
    sqs, dlq = sandbox.client("sqs"), sandbox.outputs("notifications", "prod")["replication_dlq_url"]
    marker = unique("status-dlq")
    # GIVEN a message waiting in the replication DLQ
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"marker": marker}))
    try:
        # WHEN status is asked
        completed, report = status(sandbox, datetime.now(UTC) - timedelta(minutes=1))
        # THEN it names the queue and its depth, and exits 1
        assert completed.returncode == 1, completed.stdout
        [queue] = [q for q in report["dead_letter_queues"] if q["output"] == "replication_dlq_url"]
        assert queue["depth"] >= 1, queue
        assert any(queue["name"] in problem for problem in report["problems"]), report["problems"]
        text = cli(sandbox.workspace.root, "status", "--env", "prod")
        assert text.returncode == 1 and "NEEDS ATTENTION" in text.stdout and queue["name"] in text.stdout
    finally:
        # Other tests expect the shared sandbox's DLQs empty.
        taken = take_dead_letters(sqs, dlq, lambda record: record.get("marker") == marker)
        assert len(taken) == 1, f"the test's message was not drained from {dlq}"


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_graph_draws_prod_with_its_replication_flows(sandbox: DeployedSandbox, fmt: str) -> None:
    completed = cli(sandbox.workspace.root, "graph", "--env", "prod", "--format", fmt)
    assert completed.returncode == 0, completed.stderr
    text = completed.stdout
    flows = [
        ("storage_data_bucket", "S3 events", "replication_capture_s3_changes"),
        ("replication_capture_s3_changes", "invokes", "replication_replicator_function_function"),
        ("storage_config_table", "stream", "replication_capture_pipe"),
        ("replication_capture_pipe", "puts events", "replication_capture_bus"),
        ("replication_replicator_function_function", "replicates to dev", "stack_storage_dev_bucket_name"),
        (
            "replication_replicator_function_function",
            "replicates to staging",
            "stack_storage_staging_config_table_name",
        ),
    ]
    shapes = {"mermaid": '{source} -->|"{label}"| {target}', "dot": '{source} -> {target} [label="{label}"'}
    for source, label, target in flows:
        expected = shapes[fmt].format(source=source, label=label, target=target)
        assert expected in text, f"{fmt}: no {source} -{label}-> {target} in\n{text}"
    assert ("subgraph layer_replication" if fmt == "mermaid" else "subgraph cluster_layer_replication") in text
