"""The local runtime stops and starts without losing an event: queued ones wait, in-flight ones are replayed at once.

The runtime is killed (SIGKILL, nothing saved on the way out) and brought back the way an operator would, with
`pipeline-infra sandbox up`, which restarts a runtime that died.
"""

from __future__ import annotations

import json
import os
import signal
from typing import TYPE_CHECKING

import pytest

from pipeline_infra_tools.sandbox.lambda_runtime import process
from pipeline_infra_tools.sandbox.lambda_runtime.deployment import Deployment
from pipeline_infra_tools.sandbox.lambda_runtime.inflight import InFlight
from pipeline_infra_tools.sandbox.lambda_runtime.sources import TAP_PREFIX
from pipeline_infra_tools.sandbox.state import SandboxStateFile
from tests.integration.helpers import cli, targets, unique, wait_for, wait_for_item, wait_for_object

if TYPE_CHECKING:
    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration


def kill_runtime(sandbox: DeployedSandbox) -> None:
    pid = process.running_pid(sandbox.workspace.state_dir)
    assert pid is not None, "the runtime was not running"
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: True if process.running_pid(sandbox.workspace.state_dir) is None else None, "the runtime gone")


def start_runtime(sandbox: DeployedSandbox) -> None:
    completed = cli(sandbox.workspace.root, "sandbox", "up")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert process.running_pid(sandbox.workspace.state_dir) is not None


def put_prod_config(sandbox: DeployedSandbox, name: str) -> str:
    key = f"config/restart/{unique(name)}.json"
    bucket = sandbox.outputs("storage", "prod")["bucket_name"]
    sandbox.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps({"bucket": bucket}).encode())
    return key


def assert_replicated(sandbox: DeployedSandbox, key: str) -> None:
    for env in targets(sandbox):
        bucket = sandbox.outputs("storage", env)["bucket_name"]
        replica = wait_for_object(sandbox.client("s3"), bucket, key)
        assert replica.json()["bucket"] == bucket, env


def s3_changes_tap(sandbox: DeployedSandbox) -> str:
    rule = sandbox.outputs("replication", "prod")["s3_changes_rule_arn"].rsplit("/", 1)[-1]
    urls = sandbox.client("sqs").list_queues(QueueNamePrefix=TAP_PREFIX + rule)["QueueUrls"]
    [url] = [u for u in urls if u.endswith(TAP_PREFIX + rule)]
    return str(url)


def test_events_made_while_the_runtime_is_down_are_delivered_when_it_is_back(sandbox: DeployedSandbox) -> None:
    kill_runtime(sandbox)
    try:
        # WHEN prod changes while nothing delivers events: an object and a config item
        key = put_prod_config(sandbox, "while-down")
        item_key = {"pk": {"S": unique("while-down")}, "sk": {"S": "settings"}}
        table = sandbox.outputs("storage", "prod")["config_table_name"]
        sandbox.client("dynamodb").put_item(TableName=table, Item={**item_key, "value": {"S": "kept"}})
    finally:
        start_runtime(sandbox)
    # THEN both reach every target once the runtime is back (the Pipe goes on from where it stopped)
    assert_replicated(sandbox, key)
    for env in targets(sandbox):
        wait_for_item(sandbox.client("dynamodb"), sandbox.outputs("storage", env)["config_table_name"], item_key)


def test_an_event_in_flight_when_the_runtime_died_is_replayed_at_once(sandbox: DeployedSandbox) -> None:
    kill_runtime(sandbox)
    try:
        key = put_prod_config(sandbox, "in-flight")
        # GIVEN the runtime had taken the event off its tap queue (hidden for 15 minutes) and died mid-delivery
        url, sqs = s3_changes_tap(sandbox), sandbox.client("sqs")
        message = wait_for(
            lambda: next(
                iter(sqs.receive_message(QueueUrl=url, VisibilityTimeout=900, WaitTimeSeconds=1).get("Messages", [])),
                None,
            ),
            "the event on the tap queue",
        )
        assert key in message["Body"]
        rule_arn = sandbox.outputs("replication", "prod")["s3_changes_rule_arn"]
        rule = Deployment.load(SandboxStateFile(sandbox.workspace.state_dir).stacks_dir).rule_by_arn(rule_arn)
        assert rule is not None
        inflight = InFlight(sandbox.workspace.state_dir / "runtime" / "inflight.json")
        for target in rule.targets:  # as the runtime records a delivery: per message and target
            inflight.begin(f"{message['MessageId']}/{target.target_id}", url, message["ReceiptHandle"])
    finally:
        start_runtime(sandbox)
    # THEN it is delivered now, not after its visibility timeout
    assert_replicated(sandbox, key)
    wait_for(
        lambda: True if len(InFlight(sandbox.workspace.state_dir / "runtime" / "inflight.json")) == 0 else None,
        "nothing left in flight",
    )
