"""The scheduled drift checker reads back prod's replication paths on the session sandbox, with its own role.

A rule switched off stops replication without an error anywhere; the drift checker is what notices. Each test
that switches something off switches it back on in a `finally`, so the tests sharing the sandbox see prod wired.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.lambda_runtime.service_roles import is_denied
from tests.integration.helpers import assumed_clients, cli, subscribed

if TYPE_CHECKING:
    from tests.integration.conftest import DeployedSandbox
    from tests.integration.helpers import Notification

pytestmark = pytest.mark.integration


def replication(sandbox: DeployedSandbox) -> dict[str, Any]:
    return sandbox.outputs("replication", "prod")


def rule_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def test_a_disabled_s3_changes_rule_is_a_failure_notification_naming_it(sandbox: DeployedSandbox) -> None:
    outputs = replication(sandbox)
    rule_arn = str(outputs["s3_changes_rule_arn"])
    name = rule_name(rule_arn)
    events = sandbox.client("events")
    assert events.describe_rule(Name=name)["State"] == "ENABLED", "another test left prod's S3 rule switched off"
    with subscribed(sandbox, sandbox.outputs("notifications", "prod")["failure_topic_arn"]) as inbox:
        # GIVEN prod's S3-changes rule switched off by hand
        events.disable_rule(Name=name)
        try:
            # WHEN the drift checker runs, with its own role, as a user invokes it
            completed = cli(
                sandbox.workspace.root, "sandbox", "invoke", "--function", outputs["drift_checker_function_name"]
            )
            # THEN operators are told, in one message naming the environment and the rule by name and ARN
            assert completed.returncode == 0, completed.stdout + completed.stderr

            def names_rule(n: Notification) -> bool:
                return (n.body.get("details") or {}).get("arn") == rule_arn

            [alert] = inbox.wait(names_rule, what=f"failure notification naming {rule_arn}")
            assert alert.attributes == {"outcome": "failed", "environment": "prod", "source": "drift-checker"}
            details = alert.body["details"]
            assert (details["kind"], details["name"], details["problems"]) == ("rule", name, ["rule disabled"])
            assert alert.body["resource"] == rule_arn and name in alert.body["reason"]
            # AND the run's result says so; the other rule (on the replication bus) and the Pipe were read back
            # with the checker's own role and are fine, so its grants work where they must
            result = json.loads(completed.stdout)["result"]
            assert result["replication_paths_ok"] is False
            checked = {p["arn"]: (p["ok"], p["problems"]) for p in result["replication_paths"]}
            assert checked == {
                rule_arn: (False, ["rule disabled"]),
                outputs["config_changes_rule_arn"]: (True, []),
                outputs["config_pipe_arn"]: (True, []),
            }
            # AND nothing else about the paths was reported
            others = [n for n in inbox.received if (n.body.get("details") or {}).get("check") == "replication-path"]
            assert others == [alert], [n.body for n in others]
        finally:
            events.enable_rule(Name=name)
    assert events.describe_rule(Name=name)["State"] == "ENABLED"


def test_the_checker_role_reads_back_its_paths_and_no_other_rule_or_pipe(sandbox: DeployedSandbox) -> None:
    outputs = replication(sandbox)
    role_arn = sandbox.client("lambda").get_function_configuration(FunctionName=outputs["drift_checker_function_name"])[
        "Role"
    ]
    clients = assumed_clients(sandbox, role_arn, ("events", "pipes"))
    events, pipes = clients["events"], clients["pipes"]
    bus = outputs["replication_bus_name"]
    # Allowed: the two rules feeding the replicator (one on the replication bus) and the config Pipe
    assert events.describe_rule(Name=rule_name(outputs["s3_changes_rule_arn"]))["State"] == "ENABLED"
    config_rule = rule_name(outputs["config_changes_rule_arn"])
    assert events.list_targets_by_rule(Rule=config_rule, EventBusName=bus)["Targets"]
    pipe = pipes.describe_pipe(Name=outputs["config_pipe_arn"].rsplit("/", 1)[-1])
    assert pipe["Arn"] == outputs["config_pipe_arn"]
    # Denied, as AWS decides per resource: the drift schedule's rule exists, the administrator reads it
    schedule = rule_name(outputs["drift_schedule_rule_arn"])
    assert sandbox.client("events").describe_rule(Name=schedule)["Name"] == schedule
    with pytest.raises(ClientError) as caught:
        events.describe_rule(Name=schedule)
    assert is_denied(caught.value), caught.value.response
    # AND reading is all it may do with its own paths
    s3_rule = rule_name(outputs["s3_changes_rule_arn"])
    try:
        with pytest.raises(ClientError) as caught:
            events.disable_rule(Name=s3_rule)
        assert is_denied(caught.value), caught.value.response
    finally:
        sandbox.client("events").enable_rule(Name=s3_rule)  # in case the emulator let it through
