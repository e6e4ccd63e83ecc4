"""Commands the README offers, run as a user runs them (`pipeline-infra ...` in the workspace), on the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.integration.helpers import unique, wait_for_object

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
