"""The local target end to end: every environment deployed to the sandbox, checked through the emulator's API.

Tests run in file order on one session sandbox; the destroy test is last.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_infra_tools.sandbox.doorbell import STREAM_DOORBELL_QUEUE
from pipeline_infra_tools.sandbox.lambda_runtime.sources import TAP_PREFIX, TAP_TARGET_ID
from tests.integration.conftest import ENVIRONMENTS
from tests.integration.helpers import admit_rule, unique

if TYPE_CHECKING:
    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration

FUNCTIONS = {"dev": ("validator", "task_processor"), "staging": ("validator", "task_processor")}
FUNCTIONS["prod"] = ("validator", "task_processor", "replicator", "drift_checker")


def tags_of(items: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_bucket_carries_every_declared_property(sandbox: DeployedSandbox, env: str) -> None:
    s3, settings = sandbox.client("s3"), sandbox.settings.env(env).storage
    bucket = sandbox.outputs("storage", env)["bucket_name"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled", bucket
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", bucket
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values()), bucket
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    tls = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert tls and tls[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, policy
    lifecycle = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    noncurrent = [r for r in lifecycle.values() if "NoncurrentVersionExpiration" in r]
    assert noncurrent[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == settings.noncurrent_version_expiration_days
    raw = [r for r in lifecycle.values() if r.get("Filter", {}).get("Prefix") == "raw/"]
    assert raw[0]["Expiration"]["Days"] == settings.raw_retention_days, lifecycle
    tags = tags_of(s3.get_bucket_tagging(Bucket=bucket)["TagSet"])
    assert tags["Environment"] == env and tags["Layer"] == "storage" and tags["ManagedBy"] == "pulumi", tags


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_objects_can_be_written_to_the_bucket(sandbox: DeployedSandbox, env: str) -> None:
    s3 = sandbox.client("s3")
    bucket = sandbox.outputs("storage", env)["bucket_name"]
    s3.put_object(Bucket=bucket, Key="config/probe.json", Body=b"{}")
    assert s3.get_object(Bucket=bucket, Key="config/probe.json")["Body"].read() == b"{}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_bucket_sends_object_events_to_eventbridge(sandbox: DeployedSandbox, env: str) -> None:
    # The emulator's GetBucketNotificationConfiguration omits EventBridgeConfiguration, so the setting is checked
    # by its effect: an upload reaches a probe rule on the default bus.
    s3, sqs, events = sandbox.client("s3"), sandbox.client("sqs"), sandbox.client("events")
    bucket = sandbox.outputs("storage", env)["bucket_name"]
    url = sqs.create_queue(QueueName=f"probe-events-{env}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}}}
    rule_arn = events.put_rule(Name=f"probe-events-{env}", EventPattern=json.dumps(pattern))["RuleArn"]
    admit_rule(sqs, url, arn, rule_arn)
    events.put_targets(Rule=f"probe-events-{env}", Targets=[{"Id": "probe", "Arn": arn}])
    try:
        key = f"schemas/{unique('probe')}.json"
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
        # Other writes to the bucket (a replica arriving from an earlier test) reach the probe too: look for ours.
        deadline, keys = time.monotonic() + 10, []
        while key not in keys and time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])
            keys += [json.loads(m["Body"])["detail"]["object"]["key"] for m in messages]
        assert key in keys, keys
    finally:
        events.remove_targets(Rule=f"probe-events-{env}", Ids=["probe"])
        events.delete_rule(Name=f"probe-events-{env}")
        sqs.delete_queue(QueueUrl=url)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tables_have_billing_index_recovery_and_stream(sandbox: DeployedSandbox, env: str) -> None:
    dynamodb, outputs = sandbox.client("dynamodb"), sandbox.outputs("storage", env)
    config = dynamodb.describe_table(TableName=outputs["config_table_name"])["Table"]
    metadata = dynamodb.describe_table(TableName=outputs["metadata_table_name"])["Table"]
    for table in (config, metadata):
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST", table["TableName"]
        backups = dynamodb.describe_continuous_backups(TableName=table["TableName"])["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED", table["TableName"]
    assert config["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert config["LatestStreamArn"] == outputs["config_table_stream_arn"]
    [index] = metadata["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "timestamp-index"
    assert [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]] == [
        ("dataset", "HASH"),
        ("timestamp", "RANGE"),
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_queues_keep_messages_and_redrive_to_the_dlq(sandbox: DeployedSandbox, env: str) -> None:
    sqs, outputs = sandbox.client("sqs"), sandbox.outputs("notifications", env)
    settings = sandbox.settings.env(env).notifications
    for url in (outputs["task_queue_url"], outputs["task_dlq_url"], outputs["replication_dlq_url"]):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert int(attributes["MessageRetentionPeriod"]) == settings.queue_retention_seconds, url
    attributes = sqs.get_queue_attributes(QueueUrl=outputs["task_queue_url"], AttributeNames=["RedrivePolicy"])
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == outputs["task_dlq_arn"]
    assert int(redrive["maxReceiveCount"]) == settings.max_receive_count


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_topics_have_the_subscriptions_from_settings(sandbox: DeployedSandbox, env: str) -> None:
    sns, outputs = sandbox.client("sns"), sandbox.outputs("notifications", env)
    for subscription in sandbox.settings.env(env).notifications.subscriptions:
        topic = outputs[f"{subscription.topic}_topic_arn"]
        found = [
            s
            for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
            if s["Endpoint"] == subscription.endpoint and s["Protocol"] == subscription.protocol
        ]
        assert len(found) == 1, (topic, subscription)
        if subscription.filter_policy:
            attributes = sns.get_subscription_attributes(SubscriptionArn=found[0]["SubscriptionArn"])["Attributes"]
            assert json.loads(attributes["FilterPolicy"]) == subscription.filter_policy


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_functions_have_runtime_memory_timeout_environment_and_tracing(sandbox: DeployedSandbox, env: str) -> None:
    lambda_, logs = sandbox.client("lambda"), sandbox.client("logs")
    functions = sandbox.settings.env(env).functions
    layer_of = {"validator": "processing", "task_processor": "processing"}
    for role in FUNCTIONS[env]:
        name = sandbox.outputs(layer_of.get(role, "replication"), env)[f"{role}_function_name"]
        config = lambda_.get_function_configuration(FunctionName=name)
        expected = getattr(functions, role)
        assert config["Runtime"] == functions.runtime, name
        assert config["MemorySize"] == expected.memory_mb, name
        assert config["Timeout"] == expected.timeout_seconds, name
        assert config["Environment"]["Variables"]["PIPELINE_ENVIRONMENT"] == env, name
        assert config["TracingConfig"]["Mode"] == ("Active" if functions.tracing else "PassThrough"), name
        groups = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
        assert [g["retentionInDays"] for g in groups] == [functions.log_retention_days], name


def declared_targets(events: Any, rule: str, bus: str = "default") -> list[dict[str, Any]]:
    """The rule's targets as deployed; the local runtime's tap queue is the only other one a Lambda rule has."""
    targets = events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
    taps = [t for t in targets if t["Id"] == TAP_TARGET_ID]
    assert len(taps) == 1 and taps[0]["Arn"].split(":")[-1].startswith(TAP_PREFIX), targets
    return [t for t in targets if t["Id"] != TAP_TARGET_ID]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_raw_upload_rule_routes_to_the_validator(sandbox: DeployedSandbox, env: str) -> None:
    events, outputs = sandbox.client("events"), sandbox.outputs("processing", env)
    rule_name = outputs["raw_upload_rule_arn"].rsplit("/", 1)[-1]
    rule = events.describe_rule(Name=rule_name)
    pattern = json.loads(rule["EventPattern"])
    assert pattern["detail"]["bucket"]["name"] == [sandbox.outputs("storage", env)["bucket_name"]]
    assert pattern["detail"]["object"]["key"] == [{"prefix": "raw/"}]
    [target] = declared_targets(events, rule_name)
    assert target["Arn"] == outputs["validator_function_arn"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == sandbox.settings.env(env).replication.rule_retry_attempts
    assert "DeadLetterConfig" in target


def test_prod_replication_captures_prod_changes_only(sandbox: DeployedSandbox) -> None:
    events, outputs = sandbox.client("events"), sandbox.outputs("replication", "prod")
    s3_rule = events.describe_rule(Name=outputs["s3_changes_rule_arn"].rsplit("/", 1)[-1])
    pattern = json.loads(s3_rule["EventPattern"])
    assert pattern["detail"]["bucket"]["name"] == [sandbox.outputs("storage", "prod")["bucket_name"]]
    bus = outputs["replication_bus_name"]
    config_rule = events.describe_rule(Name=outputs["config_changes_rule_arn"].rsplit("/", 1)[-1], EventBusName=bus)
    assert "ddb-config-prod" in config_rule["EventPattern"]
    [target] = declared_targets(events, config_rule["Name"], bus)
    assert target["Arn"] == outputs["replicator_function_arn"]
    pipe = sandbox.client("pipes").describe_pipe(Name=outputs["config_pipe_arn"].rsplit("/", 1)[-1])
    assert pipe["Source"] == sandbox.outputs("storage", "prod")["config_table_stream_arn"]
    invoke = sandbox.client("lambda").get_function_event_invoke_config(FunctionName=outputs["replicator_function_name"])
    assert (
        invoke["DestinationConfig"]["OnFailure"]["Destination"]
        == sandbox.outputs("notifications", "prod")["replication_dlq_arn"]
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_role_has_its_inline_policy(sandbox: DeployedSandbox, env: str) -> None:
    iam = sandbox.client("iam")
    for layer, results in (("storage", None), ("processing", None), ("replication", None)):
        del results
        saved = sandbox.target.store.load(sandbox.workspace.project(layer).name, env)
        if saved is None:
            continue
        policies = [r for r in saved["resources"] if r["type"] == "aws:iam/rolePolicy:RolePolicy"]
        for policy in policies:
            role, name = policy["inputs"]["role"], policy["inputs"]["name"]
            document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            stored = document if isinstance(document, dict) else json.loads(document)
            assert stored == json.loads(policy["inputs"]["policy"]), (role, name)
    if env in sandbox.settings.source.replication.targets:
        writer = sandbox.outputs("storage", env)["replica_writer_role_name"]
        trust = iam.get_role(RoleName=writer)["Role"]["AssumeRolePolicyDocument"]
        assert "iam-replicator-prod" in json.dumps(trust), trust


def permission_ids(lambda_: Any, function: str) -> list[str]:
    try:
        policy = json.loads(lambda_.get_policy(FunctionName=function)["Policy"])
    except lambda_.exceptions.ResourceNotFoundException:
        return []  # a function nothing may invoke has no resource policy
    return [statement["Sid"] for statement in policy["Statement"]]


def inventory(sandbox: DeployedSandbox) -> dict[str, Any]:
    """Everything the deploy creates, counted by kind, so duplicates show."""
    lambda_, events = sandbox.client("lambda"), sandbox.client("events")
    functions = [f["FunctionName"] for f in lambda_.list_functions()["Functions"]]
    buses = ["default", *[b["Name"] for b in events.list_event_buses()["EventBuses"] if b["Name"] != "default"]]
    rules = [(bus, r["Name"]) for bus in buses for r in events.list_rules(EventBusName=bus)["Rules"]]
    return {
        "buckets": sorted(b["Name"] for b in sandbox.client("s3").list_buckets()["Buckets"]),
        "tables": sorted(sandbox.client("dynamodb").list_tables()["TableNames"]),
        # The stream doorbell belongs to the sandbox, not to any deploy.
        "queues": sorted(
            url
            for url in sandbox.client("sqs").list_queues().get("QueueUrls", [])
            if not url.endswith("/" + STREAM_DOORBELL_QUEUE)
        ),
        "topics": sorted(t["TopicArn"] for t in sandbox.client("sns").list_topics()["Topics"]),
        "subscriptions": sorted(
            s["SubscriptionArn"] for s in sandbox.client("sns").list_subscriptions()["Subscriptions"]
        ),
        "roles": sorted(r["RoleName"] for r in sandbox.client("iam").list_roles()["Roles"]),
        "log_groups": sorted(g["logGroupName"] for g in sandbox.client("logs").describe_log_groups()["logGroups"]),
        "functions": sorted(functions),
        "mappings": sorted(m["UUID"] for m in lambda_.list_event_source_mappings()["EventSourceMappings"]),
        "permissions": sorted(sid for f in functions for sid in permission_ids(lambda_, f)),
        "buses": sorted(buses),
        "rules": sorted(rules),
        "targets": sorted(
            (b, r, t["Id"]) for b, r in rules for t in events.list_targets_by_rule(Rule=r, EventBusName=b)["Targets"]
        ),
        "pipes": sorted(p["Name"] for p in sandbox.client("pipes").list_pipes()["Pipes"]),
    }


def test_redeploy_changes_nothing_and_duplicates_nothing(sandbox: DeployedSandbox) -> None:
    # GIVEN everything deployed once
    before = inventory(sandbox)
    assert len(before["functions"]) == 8 and len(before["pipes"]) == 1, before
    # WHEN every environment is deployed again
    for env in ENVIRONMENTS:
        results = sandbox.run("deploy", env)
        # THEN every resource is reported unchanged
        for result in results:
            assert result.changes["create"] == result.changes["update"] == result.changes["delete"] == 0, result
    # AND the emulator holds exactly the same resources
    assert inventory(sandbox) == before


def test_preview_reports_no_changes_on_a_deployed_env(sandbox: DeployedSandbox) -> None:
    for result in sandbox.run("preview", "prod"):
        assert result.changes["same"] == result.resource_count and result.changes["create"] == 0, result


@pytest.mark.destroys_sandbox
def test_destroy_removes_every_resource_and_the_saved_state(sandbox: DeployedSandbox) -> None:
    # prod first: its replication layer reads dev's and staging's storage.
    for env in ("prod", "staging", "dev"):
        sandbox.run("destroy", env)
    # The local runtime removes its tap queues when it sees the rules gone.
    sqs, deadline = sandbox.client("sqs"), time.time() + 15
    while sqs.list_queues(QueueNamePrefix=TAP_PREFIX).get("QueueUrls") and time.time() < deadline:
        time.sleep(0.1)
    left = inventory(sandbox)
    assert left["roles"] == [] and left["buses"] == ["default"], left
    assert all(not v for k, v in left.items() if k not in ("roles", "buses")), left
    assert not list(sandbox.target.store.root.rglob("*.json"))
    assert sandbox.target.sandbox.status().state.stacks == []  # type: ignore[union-attr]
