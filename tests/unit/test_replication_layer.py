"""Replication layer: prod only, rules that match prod alone, retries and dead letters everywhere."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pipeline_infra.components.change_capture import config_change_pattern, object_change_pattern
from pipeline_infra.layers import stack_reference_name
from tests.unit.conftest import RenderedStack, stack

if TYPE_CHECKING:
    from pipeline_infra.settings import Settings


@pytest.fixture
def replication(rendered: dict) -> RenderedStack:
    return stack(rendered, "replication", "prod")


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_lower_environments_have_no_replication_stack(rendered: dict, workspace, env: str) -> None:
    assert "replication" not in workspace.layers_for(env)
    assert ("replication", env) not in rendered


def test_replicator_has_async_retries_and_on_failure_dlq(replication: RenderedStack, rendered: dict) -> None:
    function = replication.named("replicator-function-function")
    assert function.inputs["timeout"] == 300
    config = replication.named("replicator-async")
    dlq_arn = stack(rendered, "notifications", "prod").outputs["replication_dlq_arn"]
    assert config.inputs["maximumRetryAttempts"] == 2
    assert config.inputs["destinationConfig"]["onFailure"]["destination"] == dlq_arn, config.urn


def test_a_failed_drift_check_lands_in_the_dlq_for_redrive(replication: RenderedStack, rendered: dict) -> None:
    config = replication.named("drift-checker-async")
    dlq_arn = stack(rendered, "notifications", "prod").outputs["replication_dlq_arn"]
    assert config.inputs["destinationConfig"]["onFailure"]["destination"] == dlq_arn, config.urn
    assert config.inputs["functionName"] == replication.named("drift-checker-function-function").id
    policy = json.loads(replication.named("drift-checker-function-policy").inputs["policy"])
    [send] = [s for s in policy["Statement"] if s["Sid"] == "SendFailuresToDeadLetterQueue"]
    assert send["Action"] == ["sqs:SendMessage"] and send["Resource"] == [dlq_arn]


def test_object_rule_matches_prod_bucket_config_and_schemas_only(replication: RenderedStack, rendered: dict) -> None:
    prod_bucket = stack(rendered, "storage", "prod").outputs["bucket_name"]
    pattern = json.loads(replication.named("capture-s3-changes").inputs["eventPattern"])
    assert pattern == object_change_pattern(prod_bucket, ["config/", "schemas/"])
    assert pattern["detail"]["bucket"]["name"] == [prod_bucket]
    expected = {"Object Created", "Object Deleted", "Object Tags Added", "Object Tags Deleted"}
    assert set(pattern["detail-type"]) == expected


def test_config_rule_matches_prod_table_stream_only(replication: RenderedStack, rendered: dict) -> None:
    prod_table_arn = stack(rendered, "storage", "prod").outputs["config_table_arn"]
    rule = replication.named("capture-config-changes")
    assert json.loads(rule.inputs["eventPattern"]) == config_change_pattern(prod_table_arn)
    assert rule.inputs["eventBusName"] == replication.named("capture-bus").id
    pipe = replication.named("capture-pipe")
    assert pipe.inputs["source"] == stack(rendered, "storage", "prod").outputs["config_table_stream_arn"]
    assert pipe.inputs["target"] == replication.named("capture-bus").outputs["arn"]


@pytest.mark.parametrize("purpose", ["s3-changes", "config-changes"])
def test_rule_targets_carry_retry_policy_and_dead_letter_queue(
    replication: RenderedStack, rendered: dict, purpose: str
) -> None:
    target = replication.named(f"capture-{purpose}-target")
    dlq_arn = stack(rendered, "notifications", "prod").outputs["replication_dlq_arn"]
    assert target.inputs["retryPolicy"]["maximumRetryAttempts"] > 0
    assert target.inputs["deadLetterConfig"]["arn"] == dlq_arn
    assert target.inputs["arn"] == replication.named("replicator-function-function").outputs["arn"]
    queue_policy = json.loads(replication.named("capture-dlq-policy").inputs["policy"])
    allowed = queue_policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert replication.named(f"capture-{purpose}").outputs["arn"] in allowed


def test_idempotency_table_has_ttl_and_drift_checker_runs_daily(replication: RenderedStack) -> None:
    table = replication.named("replicator-idempotency-table")
    assert table.inputs["ttl"] == {"attributeName": "expiration", "enabled": True}
    schedule = replication.named("drift-checker-schedule")
    assert schedule.inputs["scheduleExpression"] == "rate(1 day)"
    assert (
        replication.named("drift-checker-schedule-target").inputs["arn"]
        == replication.named("drift-checker-function-function").outputs["arn"]
    )


def test_stack_references_come_from_settings(replication: RenderedStack, settings: Settings) -> None:
    names = {r.inputs["name"] for r in replication.of_type("pulumi:pulumi:StackReference")}
    expected = {stack_reference_name(settings, "storage", e) for e in ("dev", "staging", "prod")}
    expected.add(stack_reference_name(settings, "notifications", "prod"))
    assert names == expected
    assert all(n.startswith(f"{settings.project.organization}/") for n in names)


def test_replication_targets_rewrite_every_prod_identifier(replication: RenderedStack, rendered: dict) -> None:
    variables = replication.named("replicator-function-function").inputs["environment"]["variables"]
    targets = {t["environment"]: t for t in json.loads(variables["REPLICATION_TARGETS"])}
    assert set(targets) == {"dev", "staging"}
    for env, target in targets.items():
        storage = stack(rendered, "storage", env).outputs
        assert target["bucket"] == storage["bucket_name"]
        assert target["writer_role_arn"] == storage["replica_writer_role_arn"]
        replaced = dict(target["replacements"])
        assert replaced[stack(rendered, "storage", "prod").outputs["bucket_name"]] == storage["bucket_name"]
        assert replaced["-prod-pl01"] == f"-{env}-pl01"


def test_replication_outputs_have_stable_keys(replication: RenderedStack) -> None:
    assert set(replication.outputs) == {
        "replicator_function_name",
        "replicator_function_arn",
        "replicator_role_arn",
        "idempotency_table_name",
        "drift_checker_function_name",
        "drift_checker_function_arn",
        "replication_bus_name",
        "config_pipe_arn",
        "s3_changes_rule_arn",
        "config_changes_rule_arn",
        "drift_schedule_rule_arn",
    }


def test_drift_checker_is_told_every_replication_path_with_its_targets(replication: RenderedStack) -> None:
    variables = replication.named("drift-checker-function-function").inputs["environment"]["variables"]
    replicator_arn = replication.named("replicator-function-function").outputs["arn"]

    def path(kind: str, resource: str, targets: list[str]) -> dict:
        found = replication.named(resource)
        return {"kind": kind, "name": found.inputs["name"], "arn": found.outputs["arn"], "target_arns": targets}

    expected = [
        path("rule", "capture-s3-changes", [replicator_arn]),
        path("rule", "capture-config-changes", [replicator_arn]),
        path("pipe", "capture-pipe", [replication.named("capture-bus").outputs["arn"]]),
    ]
    assert json.loads(variables["REPLICATION_PATHS"]) == expected
    # The rules the checker reads are exactly the ones the outputs name (the drift schedule is not a path).
    arns = {p["arn"] for p in expected}
    assert {replication.outputs["s3_changes_rule_arn"], replication.outputs["config_changes_rule_arn"]} < arns
    assert replication.outputs["config_pipe_arn"] in arns
    assert replication.outputs["drift_schedule_rule_arn"] not in arns


def test_drift_checker_may_read_back_those_rules_and_that_pipe_only(replication: RenderedStack) -> None:
    policy = json.loads(replication.named("drift-checker-function-policy").inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    rules = sorted(replication.named(f"capture-{p}").outputs["arn"] for p in ("s3-changes", "config-changes"))
    assert by_sid["ReadReplicationRules"]["Action"] == ["events:DescribeRule", "events:ListTargetsByRule"]
    assert by_sid["ReadReplicationRules"]["Resource"] == rules
    assert by_sid["ReadReplicationPipe"]["Action"] == ["pipes:DescribePipe"]
    assert by_sid["ReadReplicationPipe"]["Resource"] == [replication.outputs["config_pipe_arn"]]
    # No other statement of the role touches EventBridge or Pipes (so none grants them on `*`).
    others = [s for sid, s in by_sid.items() if sid not in ("ReadReplicationRules", "ReadReplicationPipe")]
    assert not [a for s in others for a in s["Action"] if a.startswith(("events:", "pipes:"))], others
