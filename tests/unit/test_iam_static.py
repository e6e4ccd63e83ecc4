"""Least privilege proven on the rendered policies, resource by resource.

The emulator enforces IAM per resource for S3, SQS, IAM, STS and (through the sandbox's patches) DynamoDB, SNS,
EventBridge rules and Pipes; for the rest of EventBridge and for Logs it can check actions alone. Here every
role's rendered policy is evaluated with explicit resource ARNs by moto's IAM policy evaluator (the same evaluator
the emulator uses), so the resource scoping of every role is proven for those services too.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from tests.unit.conftest import stack

if TYPE_CHECKING:
    from tests.unit.conftest import RenderedStack


class Role:
    def __init__(self, policy_document: str) -> None:
        self.policy = IAMPolicy(policy_document)

    def can(self, action: str, resource: str, **conditions: str) -> bool:
        """Whether the policy allows `action` on `resource`; condition keys are written with `__` for `:`."""
        values = {k.replace("__", ":"): v for k, v in conditions.items()} or None
        return self.policy.is_action_permitted(action, resource, None, values) == PermissionResult.PERMITTED


def role(layer_stack: RenderedStack, policy_name: str) -> Role:
    return Role(layer_stack.named(policy_name).inputs["policy"])


@pytest.fixture(scope="module")
def arns(rendered: dict) -> dict[str, dict[str, str]]:
    out = {}
    for env in ("dev", "staging", "prod"):
        storage, notifications = stack(rendered, "storage", env).outputs, stack(rendered, "notifications", env).outputs
        out[env] = {**storage, **notifications}
    return out


@pytest.fixture(scope="module")
def replicator(rendered: dict) -> Role:
    return role(stack(rendered, "replication", "prod"), "replicator-function-policy")


def test_replicator_reads_prod_config_but_cannot_write_prod(replicator: Role, arns: dict) -> None:
    prod = arns["prod"]["bucket_arn"]
    assert replicator.can("s3:GetObject", f"{prod}/config/pipeline.json")
    # reads pin the version they checked; AWS checks the version actions for those
    assert replicator.can("s3:GetObjectVersion", f"{prod}/config/pipeline.json")
    assert replicator.can("s3:GetObjectVersionTagging", f"{prod}/config/pipeline.json")
    assert not replicator.can("s3:GetObject", f"{prod}/raw/data.csv")
    assert not replicator.can("s3:PutObject", f"{prod}/config/pipeline.json")
    assert not replicator.can("s3:DeleteObject", f"{prod}/config/pipeline.json")
    assert replicator.can("dynamodb:GetItem", arns["prod"]["config_table_arn"])
    assert not replicator.can("dynamodb:PutItem", arns["prod"]["config_table_arn"])


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_replicator_cannot_touch_lower_environments_except_through_their_writer_role(
    replicator: Role, arns: dict, env: str
) -> None:
    lower = arns[env]
    assert not replicator.can("s3:GetObject", f"{lower['bucket_arn']}/config/pipeline.json")
    assert not replicator.can("s3:PutObject", f"{lower['bucket_arn']}/config/pipeline.json")
    assert not replicator.can("dynamodb:PutItem", lower["config_table_arn"])
    assert replicator.can("sts:AssumeRole", lower["replica_writer_role_arn"])
    assert not replicator.can("sts:AssumeRole", lower["replica_writer_role_arn"].replace("replica-writer", "validator"))


def test_replicator_publishes_only_to_prods_topics(replicator: Role, arns: dict) -> None:
    assert replicator.can("sns:Publish", arns["prod"]["success_topic_arn"])
    assert not replicator.can("sns:Publish", arns["dev"]["success_topic_arn"])


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_writer_role_writes_only_replicated_prefixes_of_its_own_environment(
    rendered: dict, arns: dict, env: str
) -> None:
    writer = role(stack(rendered, "storage", env), "replica-writer-policy")
    own, other = arns[env], arns["staging" if env == "dev" else "dev"]
    for prefix in ("config/", "schemas/"):
        assert writer.can("s3:PutObject", f"{own['bucket_arn']}/{prefix}a.json")
        assert writer.can("s3:DeleteObject", f"{own['bucket_arn']}/{prefix}a.json")
    assert not writer.can("s3:PutObject", f"{own['bucket_arn']}/raw/a.csv")
    assert not writer.can("s3:PutObject", f"{other['bucket_arn']}/config/a.json")
    assert not writer.can("s3:PutObject", f"{arns['prod']['bucket_arn']}/config/a.json")
    assert writer.can("s3:GetObject", f"{arns['prod']['bucket_arn']}/config/a.json"), (
        "server-side copy reads the source"
    )
    assert writer.can("dynamodb:PutItem", own["config_table_arn"])
    assert not writer.can("dynamodb:PutItem", own["metadata_table_arn"])
    assert not writer.can("dynamodb:PutItem", other["config_table_arn"])
    assert not writer.can("dynamodb:PutItem", arns["prod"]["config_table_arn"])
    assert writer.can("s3:ListBucket", own["bucket_arn"], s3__prefix="config/")
    # moto's evaluator does not apply StringLike, so the listing condition is checked as written.
    policy = json.loads(stack(rendered, "storage", env).named("replica-writer-policy").inputs["policy"])
    [listing] = [s for s in policy["Statement"] if s["Action"] == ["s3:ListBucket"]]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["config/*", "schemas/*"]}}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_validator_reads_only_its_own_bucket(rendered: dict, arns: dict, env: str) -> None:
    validator = role(stack(rendered, "processing", env), "processing-validator-policy")
    own = arns[env]
    assert validator.can("s3:GetObject", f"{own['bucket_arn']}/raw/orders/2026.csv")
    assert validator.can("s3:GetObject", f"{own['bucket_arn']}/schemas/orders.json")
    assert validator.can("s3:GetObjectVersion", f"{own['bucket_arn']}/raw/orders/2026.csv"), (
        "it reads the exact version"
    )
    assert not validator.can("s3:PutObject", f"{own['bucket_arn']}/raw/orders/2026.csv")
    assert validator.can("dynamodb:PutItem", own["metadata_table_arn"])
    assert validator.can("sqs:SendMessage", own["task_queue_arn"])
    for other in {"dev", "staging", "prod"} - {env}:
        assert not validator.can("s3:GetObject", f"{arns[other]['bucket_arn']}/raw/orders/2026.csv")
        assert not validator.can("dynamodb:PutItem", arns[other]["metadata_table_arn"])
        assert not validator.can("sns:Publish", arns[other]["failure_topic_arn"])


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_task_processor_consumes_only_its_own_queue(rendered: dict, arns: dict, env: str) -> None:
    processor = role(stack(rendered, "processing", env), "processing-task-processor-policy")
    assert processor.can("sqs:ReceiveMessage", arns[env]["task_queue_arn"])
    assert processor.can("dynamodb:UpdateItem", arns[env]["metadata_table_arn"])
    for other in {"dev", "staging", "prod"} - {env}:
        assert not processor.can("sqs:ReceiveMessage", arns[other]["task_queue_arn"])
        assert not processor.can("dynamodb:UpdateItem", arns[other]["metadata_table_arn"])


def test_pipe_reads_only_prods_stream_and_writes_only_the_replication_bus(rendered: dict, arns: dict) -> None:
    replication = stack(rendered, "replication", "prod")
    pipe = role(replication, "capture-pipe-policy")
    bus = replication.named("capture-bus").outputs["arn"]
    assert pipe.can("dynamodb:GetRecords", arns["prod"]["config_table_stream_arn"])
    assert not pipe.can("dynamodb:GetRecords", arns["dev"]["config_table_stream_arn"])
    assert pipe.can("events:PutEvents", bus)
    assert not pipe.can("events:PutEvents", bus.replace(bus.split("/")[-1], "default"))


def test_drift_checker_reads_back_the_replication_rules_and_pipe_and_nothing_else(rendered: dict) -> None:
    replication = stack(rendered, "replication", "prod")
    checker = role(replication, "drift-checker-function-policy")
    rules = [replication.outputs["s3_changes_rule_arn"], replication.outputs["config_changes_rule_arn"]]
    pipe = replication.outputs["config_pipe_arn"]
    for rule in rules:
        assert checker.can("events:DescribeRule", rule)
        assert checker.can("events:ListTargetsByRule", rule)
        # Reading is all it may do: a checker that can switch a path off is a new way to lose replication.
        for action in ("events:DisableRule", "events:PutRule", "events:PutTargets", "events:RemoveTargets"):
            assert not checker.can(action, rule), action
    assert checker.can("pipes:DescribePipe", pipe)
    assert not checker.can("pipes:StopPipe", pipe)
    assert not checker.can("pipes:UpdatePipe", pipe)
    # Only those: not the drift schedule, not another rule or Pipe of the account.
    schedule = replication.outputs["drift_schedule_rule_arn"]
    assert not checker.can("events:DescribeRule", schedule)
    assert not checker.can("events:DescribeRule", rules[0].rsplit("/", 1)[0] + "/another-rule")
    assert not checker.can("pipes:DescribePipe", pipe.rsplit("/", 1)[0] + "/another-pipe")
    # The replicator reads no rule: the read-back belongs to the checker alone.
    replicator = role(replication, "replicator-function-policy")
    assert not replicator.can("events:DescribeRule", rules[0])


def test_writer_trust_admits_only_prods_replicator_and_drift_checker(rendered: dict) -> None:
    replication = stack(rendered, "replication", "prod")
    replicator_arn = replication.outputs["replicator_role_arn"]
    drift_checker_arn = replication.named("drift-checker-function-role").outputs["arn"]
    for env in ("dev", "staging"):
        trust = json.loads(stack(rendered, "storage", env).named("replica-writer-role").inputs["assumeRolePolicy"])
        policy = IAMPolicy(json.dumps(trust))
        for trusted in (replicator_arn, drift_checker_arn):
            assert policy.is_action_permitted("sts:AssumeRole", "*", trusted) == PermissionResult.PERMITTED
        for untrusted in (
            replicator_arn.replace("replicator", "validator"),
            replicator_arn.replace("-prod-", f"-{env}-"),
        ):
            assert policy.is_action_permitted("sts:AssumeRole", "*", untrusted) != PermissionResult.PERMITTED
