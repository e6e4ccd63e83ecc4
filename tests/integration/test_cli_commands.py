"""Commands the README offers, run as a user runs them (`pipeline-infra ...` in the workspace), on the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.integration.helpers import overlay_level, read_object, unique, wait_for_object

if TYPE_CHECKING:
    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration
CLI = Path(sys.executable).parent / "pipeline-infra"


def pipeline_infra(sandbox: DeployedSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], cwd=sandbox.workspace.root, capture_output=True, text=True, check=False, timeout=300
    )


def test_sandbox_status_reports_the_running_emulator_and_its_stacks(sandbox: DeployedSandbox) -> None:
    completed = pipeline_infra(sandbox, "sandbox", "status", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    status = json.loads(completed.stdout)
    assert status["endpoint"] == sandbox.state.endpoint
    # The administrator key it prints is one that works against the emulator.
    assert status["access_key_id"] == sandbox.state.access_key_id
    assert {"storage/prod", "replication/prod", "storage/dev"} <= set(status["stacks"])


def test_redrive_with_an_empty_dlq_replays_nothing_and_exits_0(sandbox: DeployedSandbox) -> None:
    dlq_url = sandbox.outputs("notifications", "prod")["replication_dlq_url"]
    sqs = sandbox.client("sqs")
    depth = int(
        sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
    )
    if depth:
        pytest.fail(f"the replication DLQ holds {depth} messages left by another test; this test needs it empty")
    completed = pipeline_infra(sandbox, "redrive", "--env", "prod", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["replayed"] == 0
    assert report["failed"] == []


def test_sandbox_invoke_runs_the_drift_checker_with_its_role(sandbox: DeployedSandbox) -> None:
    function = sandbox.outputs("replication", "prod")["drift_checker_function_name"]
    # GIVEN replicas in line with prod (a fresh object replicated to every target first)
    key = f"config/cli/{unique('invoke')}.json"
    s3, prod = sandbox.client("s3"), sandbox.outputs("storage", "prod")
    s3.put_object(Bucket=prod["bucket_name"], Key=key, Body=b'{"cli": true}')
    for env in sandbox.settings.source.replication.targets:
        wait_for_object(s3, sandbox.outputs("storage", env)["bucket_name"], key)
    # WHEN the drift checker is invoked through the command line
    completed = pipeline_infra(sandbox, "sandbox", "invoke", "--function", function)
    # THEN it ran with its own role and returned its report
    assert completed.returncode == 0, completed.stdout + completed.stderr
    outcome = json.loads(completed.stdout)
    assert outcome["ok"] is True, outcome
    report = outcome["result"]
    assert report["source_environment"] == "prod"
    compared = {e["environment"]: e["objects_compared"] for e in report["environments"]}
    assert set(compared) == set(sandbox.settings.source.replication.targets)
    assert all(count >= 1 for count in compared.values()), compared


def test_resync_brings_back_a_replica_deleted_in_a_target(sandbox: DeployedSandbox) -> None:
    s3 = sandbox.client("s3")
    prod, dev = sandbox.outputs("storage", "prod"), sandbox.outputs("storage", "dev")
    # GIVEN a prod config file replicated to dev, naming prod's bucket
    key = f"config/cli/{unique('resync')}.json"
    body = json.dumps({"input": f"s3://{prod['bucket_name']}/raw/"}).encode()
    s3.put_object(Bucket=prod["bucket_name"], Key=key, Body=body)
    wait_for_object(s3, dev["bucket_name"], key)
    # WHEN dev loses it outside the replication flow (a restore, a hand delete)
    s3.delete_object(Bucket=dev["bucket_name"], Key=key)
    assert read_object(s3, dev["bucket_name"], key) is None
    # AND an operator runs the repair the drift report prints
    completed = pipeline_infra(sandbox, "resync", "--from", "prod", "--to", "dev", "--format", "json")
    # THEN it exits 0, reports the repair, and dev holds the replica again, rewritten for dev
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads(completed.stdout)
    assert report["target"] == "dev"
    assert report["ok"] is True and report["failed"] == [], report
    assert report["copied"] >= 1, report
    outcomes = [change["outcome"] for change in report["changes"] if change["change"] == f"object {key}"]
    assert outcomes == ["replicated"], report["changes"]
    replica = read_object(s3, dev["bucket_name"], key)
    assert replica is not None, f"s3://{dev['bucket_name']}/{key} is still missing after resync"
    assert replica.json() == {
        "input": f"s3://{dev['bucket_name']}/raw/",
        "logging": {"level": overlay_level(sandbox, "dev")},
    }
