"""Every managed resource read back from the session sandbox, as a provider's Read does for `pulumi refresh`.

Three things are shown: what every stack deployed reads back exactly as recorded; one out-of-band change per
resource type (made with the administrator's clients, as a person would) is read as that property's change,
and restoring it reads clean again; what is attached to a managed resource by hand (an inline policy, a rule
target, a subscription, a function permission) is reported as an extra, then gone once removed.
The sandbox is shared by the whole session: every change is undone in a `finally`.
"""

from __future__ import annotations

import io
import json
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_infra_tools.sandbox.changes import provider_regions
from pipeline_infra_tools.sandbox.resources import HANDLERS
from pipeline_infra_tools.sandbox.resources.base import Clients, ResourceContext, camel_to_pascal
from pipeline_infra_tools.sandbox.resources.reads import (
    READERS,
    owned_children,
    read_differences,
    read_resource,
    unreadable_properties,
)
from tests.integration.helpers import unique

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pipeline_infra_tools.sandbox.resources.reading import Owned
    from pipeline_infra_tools.sandbox.resources.reads import ReadResult
    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration

Record = dict[str, Any]
# Properties that may legitimately read back different from the record (emulator-generated values). None: every
# id, ARN, URL and stream ARN the record holds was returned by the emulator itself when the resource was created,
# and nothing the emulator generates later (timestamps, revision ids, counters) is an input.
LEGITIMATE_DIFFERENCES: dict[str, set[str]] = {}


@dataclass
class Reader:
    """Every saved deploy record of the session sandbox, and a context per region to read it back with."""

    sandbox: DeployedSandbox
    records: list[tuple[str, Record, str]]  # (environment, record, region)
    contexts: dict[str, ResourceContext]
    owned: Owned

    def find(self, type_: str, env: str, name: str) -> Record:
        for record_env, record, _region in self.records:
            if (record["type"], record_env, record["name"]) == (type_, env, name):
                return record
        raise AssertionError(f"{env} records no {type_} named {name!r}")

    def read(self, record: Record) -> ReadResult:
        region = next(r for _e, rec, r in self.records if rec is record)
        return read_resource(record, self.contexts[region], self.owned)

    def changed_paths(self, record: Record) -> list[str]:
        return [difference.path for difference in read_differences(record, self.read(record))]


@pytest.fixture(scope="module")
def reader(sandbox: DeployedSandbox) -> Iterator[Reader]:
    state = sandbox.state
    records: list[tuple[str, Record, str]] = []
    for path in sorted(sandbox.target.store.root.glob("*/*.json")):
        saved = json.loads(path.read_text(encoding="utf-8"))
        regions = provider_regions(saved["resources"])
        for record in saved["resources"]:
            if record["type"] in HANDLERS:
                records.append((path.stem, record, regions.get(record["provider"] or "", state.region)))
    contexts = {}
    for region in {region for _env, _record, region in records}:
        clients = Clients.create(state.endpoint, region, state.access_key_id, state.secret_access_key)
        account = str(clients.sts.get_caller_identity()["Account"])
        contexts[region] = ResourceContext(clients, region, account, {})
    yield Reader(sandbox, records, contexts, owned_children(record for _env, record, _region in records))
    for context in contexts.values():
        for client in context.clients.by_service.values():
            client.close()


def test_every_deployed_resource_reads_back_as_recorded(reader: Reader) -> None:
    # GIVEN dev, staging and prod deployed, and nothing changed since
    assert {record["type"] for _env, record, _region in reader.records} <= set(READERS)
    for env, record, _region in reader.records:
        # WHEN each managed resource is read back from the emulator
        result = reader.read(record)
        # THEN it is there, equal to its record after normalising, with nothing attached by hand
        where = f"{env} {record['type']} {record['name']} ({record['id']})"
        assert not result.gone, f"{where} reads as gone"
        allowed = LEGITIMATE_DIFFERENCES.get(record["type"], set())
        changed = [d for d in read_differences(record, result) if d.path not in allowed]
        assert changed == [], f"{where} reads back differently: {[d.to_json() for d in changed]}"
        # (the runtime's own "sandbox-tap" rule targets are not extras)
        assert result.extras == (), f"{where} has extras: {[e.to_json() for e in result.extras]}"
        unreadable = unreadable_properties().get(record["type"], {})
        assert set(result.unread) == set(unreadable) & set(result.inputs or {}), where


# -- out-of-band changes: one per resource type ----------------------------------------------------------------
@dataclass(frozen=True)
class OutOfBand:
    type_: str
    env: str
    name: str
    change: Callable[[DeployedSandbox, Record], Any]
    path: str | None  # the changed property path; None: the resource reads as gone


def _tags_without(tags: list[dict[str, str]], key: str) -> list[dict[str, str]]:
    return [tag for tag in tags if tag["Key"] != key]


@contextmanager
def untag_bucket(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    s3, bucket = sandbox.client("s3"), record["id"]
    tags = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tags_without(tags, "Layer")})
    try:
        yield
    finally:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})


@contextmanager
def suspend_versioning(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    s3 = sandbox.client("s3")
    s3.put_bucket_versioning(Bucket=record["id"], VersioningConfiguration={"Status": "Suspended"})
    try:
        yield
    finally:
        s3.put_bucket_versioning(Bucket=record["id"], VersioningConfiguration={"Status": "Enabled"})


@contextmanager
def bucket_key_off(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    s3 = sandbox.client("s3")
    original = s3.get_bucket_encryption(Bucket=record["id"])["ServerSideEncryptionConfiguration"]
    changed = {"Rules": [{**rule, "BucketKeyEnabled": False} for rule in original["Rules"]]}
    s3.put_bucket_encryption(Bucket=record["id"], ServerSideEncryptionConfiguration=changed)
    try:
        yield
    finally:
        s3.put_bucket_encryption(Bucket=record["id"], ServerSideEncryptionConfiguration=original)


@contextmanager
def allow_public_buckets(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    s3 = sandbox.client("s3")
    original = s3.get_public_access_block(Bucket=record["id"])["PublicAccessBlockConfiguration"]
    changed = {**original, "RestrictPublicBuckets": False}
    s3.put_public_access_block(Bucket=record["id"], PublicAccessBlockConfiguration=changed)
    try:
        yield
    finally:
        s3.put_public_access_block(Bucket=record["id"], PublicAccessBlockConfiguration=original)


def _renamed_first_statement(policy: str) -> str:
    document = json.loads(policy)
    document["Statement"][0]["Sid"] = "ChangedByHand"
    return json.dumps(document)


@contextmanager
def rewrite_bucket_policy(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    s3 = sandbox.client("s3")
    original = s3.get_bucket_policy(Bucket=record["id"])["Policy"]
    s3.put_bucket_policy(Bucket=record["id"], Policy=_renamed_first_statement(original))
    try:
        yield
    finally:
        s3.put_bucket_policy(Bucket=record["id"], Policy=original)


@contextmanager
def keep_raw_data_longer(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    s3 = sandbox.client("s3")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=record["id"])["Rules"]
    changed = [{**rule, "Expiration": {"Days": 99}} if rule["ID"] == "expire-raw-data" else rule for rule in rules]
    s3.put_bucket_lifecycle_configuration(Bucket=record["id"], LifecycleConfiguration={"Rules": changed})
    try:
        yield
    finally:
        s3.put_bucket_lifecycle_configuration(Bucket=record["id"], LifecycleConfiguration={"Rules": rules})


@contextmanager
def stop_bucket_events(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    s3 = sandbox.client("s3")
    s3.put_bucket_notification_configuration(Bucket=record["id"], NotificationConfiguration={})
    try:
        yield
    finally:
        s3.put_bucket_notification_configuration(
            Bucket=record["id"], NotificationConfiguration={"EventBridgeConfiguration": {}}
        )


@contextmanager
def object_writer_ownership(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    s3 = sandbox.client("s3")
    original = s3.get_bucket_ownership_controls(Bucket=record["id"])["OwnershipControls"]
    s3.put_bucket_ownership_controls(
        Bucket=record["id"], OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    try:
        yield
    finally:
        s3.put_bucket_ownership_controls(Bucket=record["id"], OwnershipControls=original)


@contextmanager
def pitr_off(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    dynamodb = sandbox.client("dynamodb")
    off, on = ({"PointInTimeRecoveryEnabled": enabled} for enabled in (False, True))
    dynamodb.update_continuous_backups(TableName=record["id"], PointInTimeRecoverySpecification=off)
    try:
        yield
    finally:
        dynamodb.update_continuous_backups(TableName=record["id"], PointInTimeRecoverySpecification=on)


@contextmanager
def longer_role_sessions(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    iam = sandbox.client("iam")
    iam.update_role(RoleName=record["id"], MaxSessionDuration=7200)
    try:
        yield
    finally:
        iam.update_role(RoleName=record["id"], MaxSessionDuration=3600)


@contextmanager
def widen_role_policy(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    iam = sandbox.client("iam")
    role, name = record["inputs"]["role"], record["inputs"]["name"]
    original = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    widened = json.loads(json.dumps(original))
    widened["Statement"][0]["Action"] = [*widened["Statement"][0]["Action"], "s3:GetObjectAcl"]
    iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(widened))
    try:
        yield
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(original))


@contextmanager
def other_topic_key(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    sns = sandbox.client("sns")
    sns.set_topic_attributes(TopicArn=record["id"], AttributeName="KmsMasterKeyId", AttributeValue="alias/by-hand")
    try:
        yield
    finally:
        value = record["inputs"]["kmsMasterKeyId"]
        sns.set_topic_attributes(TopicArn=record["id"], AttributeName="KmsMasterKeyId", AttributeValue=value)


@contextmanager
def other_filter_policy(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    sns = sandbox.client("sns")
    filter_policy = json.dumps({"outcome": ["failed"]})
    sns.set_subscription_attributes(
        SubscriptionArn=record["id"], AttributeName="FilterPolicy", AttributeValue=filter_policy
    )
    try:
        yield
    finally:
        original = record["inputs"]["filterPolicy"]
        sns.set_subscription_attributes(
            SubscriptionArn=record["id"], AttributeName="FilterPolicy", AttributeValue=original
        )


@contextmanager
def shorter_visibility(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    sqs = sandbox.client("sqs")
    sqs.set_queue_attributes(QueueUrl=record["id"], Attributes={"VisibilityTimeout": "100"})
    try:
        yield
    finally:
        original = str(record["inputs"].get("visibilityTimeoutSeconds", 30))
        sqs.set_queue_attributes(QueueUrl=record["id"], Attributes={"VisibilityTimeout": original})


@contextmanager
def rewrite_queue_policy(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    sqs = sandbox.client("sqs")
    original = sqs.get_queue_attributes(QueueUrl=record["id"], AttributeNames=["Policy"])["Attributes"]["Policy"]
    sqs.set_queue_attributes(QueueUrl=record["id"], Attributes={"Policy": _renamed_first_statement(original)})
    try:
        yield
    finally:
        sqs.set_queue_attributes(QueueUrl=record["id"], Attributes={"Policy": original})


@contextmanager
def longer_log_retention(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    logs = sandbox.client("logs")
    logs.put_retention_policy(logGroupName=record["id"], retentionInDays=14)
    try:
        yield
    finally:
        logs.put_retention_policy(logGroupName=record["id"], retentionInDays=record["inputs"]["retentionInDays"])


@contextmanager
def untag_bus(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    events = sandbox.client("events")
    arn = record["outputs"]["arn"]
    tags = events.list_tags_for_resource(ResourceARN=arn)["Tags"]
    events.untag_resource(ResourceARN=arn, TagKeys=["Layer"])
    try:
        yield
    finally:
        events.tag_resource(ResourceARN=arn, Tags=tags)


@contextmanager
def disable_rule(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    events = sandbox.client("events")
    bus = record["inputs"].get("eventBusName", "default")
    events.disable_rule(Name=record["inputs"]["name"], EventBusName=bus)
    try:
        yield
    finally:
        events.enable_rule(Name=record["inputs"]["name"], EventBusName=bus)


@contextmanager
def fewer_target_retries(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    events, inputs = sandbox.client("events"), record["inputs"]
    bus = inputs.get("eventBusName", "default")
    [original] = [
        t
        for t in events.list_targets_by_rule(Rule=inputs["rule"], EventBusName=bus)["Targets"]
        if t["Id"] == inputs["targetId"]
    ]
    changed = {**original, "RetryPolicy": {**original["RetryPolicy"], "MaximumRetryAttempts": 1}}
    events.put_targets(Rule=inputs["rule"], EventBusName=bus, Targets=[changed])
    try:
        yield
    finally:
        events.put_targets(Rule=inputs["rule"], EventBusName=bus, Targets=[original])


@contextmanager
def more_memory(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    lambda_ = sandbox.client("lambda")
    lambda_.update_function_configuration(FunctionName=record["id"], MemorySize=640)
    try:
        yield
    finally:
        lambda_.update_function_configuration(FunctionName=record["id"], MemorySize=record["inputs"]["memorySize"])


@contextmanager
def remove_permission(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    lambda_, inputs = sandbox.client("lambda"), record["inputs"]
    lambda_.remove_permission(FunctionName=inputs["function"], StatementId=record["id"])
    try:
        yield
    finally:
        lambda_.add_permission(
            FunctionName=inputs["function"],
            StatementId=record["id"],
            Action=inputs["action"],
            Principal=inputs["principal"],
            SourceArn=inputs["sourceArn"],
        )


@contextmanager
def disable_mapping(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    lambda_ = sandbox.client("lambda")
    lambda_.update_event_source_mapping(UUID=record["id"], Enabled=False)
    try:
        yield
    finally:
        lambda_.update_event_source_mapping(UUID=record["id"], Enabled=True)


@contextmanager
def no_async_retries(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    lambda_, inputs = sandbox.client("lambda"), record["inputs"]
    original = {
        "FunctionName": inputs["functionName"],
        "MaximumRetryAttempts": inputs["maximumRetryAttempts"],
        "MaximumEventAgeInSeconds": inputs["maximumEventAgeInSeconds"],
        "DestinationConfig": camel_to_pascal(inputs["destinationConfig"]),
    }
    # Emulator gap: moto's PutFunctionEventInvokeConfig appends a configuration and Get returns the first one
    # ever put, so a put over an existing one is never seen. Deleting first makes the put take effect, as in AWS.
    lambda_.delete_function_event_invoke_config(FunctionName=inputs["functionName"])
    lambda_.put_function_event_invoke_config(**{**original, "MaximumRetryAttempts": 0})
    try:
        yield
    finally:
        lambda_.delete_function_event_invoke_config(FunctionName=inputs["functionName"])
        lambda_.put_function_event_invoke_config(**original)


@contextmanager
def stop_pipe(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    # UpdatePipe rather than StopPipe: the emulator's signature check refuses body-less POSTs to Pipes.
    pipes, role = sandbox.client("pipes"), record["inputs"]["roleArn"]
    pipes.update_pipe(Name=record["id"], RoleArn=role, DesiredState="STOPPED")
    try:
        yield
    finally:
        pipes.update_pipe(Name=record["id"], RoleArn=role, DesiredState="RUNNING")


OUT_OF_BAND = [
    OutOfBand("aws:s3/bucket:Bucket", "dev", "data-bucket", untag_bucket, "tagsAll.Layer"),
    OutOfBand(
        "aws:s3/bucketVersioning:BucketVersioning",
        "dev",
        "data-versioning",
        suspend_versioning,
        "versioningConfiguration.status",
    ),
    OutOfBand(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "dev",
        "data-encryption",
        bucket_key_off,
        "rules[0].bucketKeyEnabled",
    ),
    OutOfBand(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "dev",
        "data-public-access",
        allow_public_buckets,
        "restrictPublicBuckets",
    ),
    OutOfBand(
        "aws:s3/bucketPolicy:BucketPolicy", "dev", "data-tls-only", rewrite_bucket_policy, "policy.Statement[0].Sid"
    ),
    OutOfBand(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "dev",
        "data-lifecycle",
        keep_raw_data_longer,
        "rules[1].expiration.days",
    ),
    OutOfBand("aws:s3/bucketNotification:BucketNotification", "dev", "data-events", stop_bucket_events, "eventbridge"),
    OutOfBand(
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "dev",
        "data-ownership",
        object_writer_ownership,
        "rule.objectOwnership",
    ),
    OutOfBand("aws:dynamodb/table:Table", "dev", "config-table", pitr_off, "pointInTimeRecovery.enabled"),
    OutOfBand("aws:iam/role:Role", "dev", "replica-writer-role", longer_role_sessions, "maxSessionDuration"),
    OutOfBand(
        "aws:iam/rolePolicy:RolePolicy", "dev", "replica-writer-policy", widen_role_policy, "policy.Statement[0].Action"
    ),
    OutOfBand("aws:sns/topic:Topic", "dev", "topics-failure", other_topic_key, "kmsMasterKeyId"),
    OutOfBand(
        "aws:sns/topicSubscription:TopicSubscription",
        "prod",
        "topics-success-email-1",
        other_filter_policy,
        "filterPolicy.outcome[0]",
    ),
    OutOfBand("aws:sqs/queue:Queue", "dev", "tasks-queue", shorter_visibility, "visibilityTimeoutSeconds"),
    OutOfBand(
        "aws:sqs/queuePolicy:QueuePolicy",
        "dev",
        "processing-task-dlq-policy",
        rewrite_queue_policy,
        "policy.Statement[0].Sid",
    ),
    OutOfBand(
        "aws:cloudwatch/logGroup:LogGroup", "dev", "processing-validator-logs", longer_log_retention, "retentionInDays"
    ),
    OutOfBand("aws:cloudwatch/eventBus:EventBus", "prod", "capture-bus", untag_bus, "tagsAll.Layer"),
    OutOfBand("aws:cloudwatch/eventRule:EventRule", "dev", "processing-raw-uploads", disable_rule, "state"),
    OutOfBand(
        "aws:cloudwatch/eventTarget:EventTarget",
        "dev",
        "processing-raw-uploads-target",
        fewer_target_retries,
        "retryPolicy.maximumRetryAttempts",
    ),
    OutOfBand("aws:lambda/function:Function", "dev", "processing-validator-function", more_memory, "memorySize"),
    OutOfBand("aws:lambda/permission:Permission", "dev", "processing-raw-uploads-invoke", remove_permission, None),
    OutOfBand(
        "aws:lambda/eventSourceMapping:EventSourceMapping", "dev", "processing-task-source", disable_mapping, "enabled"
    ),
    OutOfBand(
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        "dev",
        "processing-validator-async",
        no_async_retries,
        "maximumRetryAttempts",
    ),
    OutOfBand("aws:pipes/pipe:Pipe", "prod", "capture-pipe", stop_pipe, "desiredState"),
]


def test_every_readable_type_has_an_out_of_band_case() -> None:
    assert sorted(case.type_ for case in OUT_OF_BAND) == sorted(READERS)


@pytest.mark.parametrize("case", OUT_OF_BAND, ids=[case.type_.rsplit(":", 1)[1] for case in OUT_OF_BAND])
def test_an_out_of_band_change_reads_as_that_property(reader: Reader, case: OutOfBand) -> None:
    # GIVEN a managed resource that reads back as recorded
    record = reader.find(case.type_, case.env, case.name)
    assert reader.changed_paths(record) == []
    # WHEN someone changes it by hand
    with case.change(reader.sandbox, record):
        result = reader.read(record)
        # THEN the read shows exactly that change (or the resource gone)
        if case.path is None:
            assert result.gone, f"{case.name}: expected to read as gone, read {result.inputs}"
        else:
            paths = [d.path for d in read_differences(record, result)]
            assert paths == [case.path], f"{case.name}: expected only {case.path} changed, read {paths}"
    # AND once restored it reads back as recorded again (the session's sandbox is shared)
    assert reader.changed_paths(record) == []


def test_function_code_replaced_by_hand_reads_as_a_changed_code(reader: Reader) -> None:
    # GIVEN a function whose deployed zip is the recorded one
    lambda_ = reader.sandbox.client("lambda")
    record = reader.find("aws:lambda/function:Function", "dev", "processing-task-processor-function")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return None\n")
    # WHEN someone uploads other code
    lambda_.update_function_code(FunctionName=record["id"], ZipFile=buffer.getvalue())
    try:
        # THEN `code` reads as the live zip's hash, since an archive cannot be read back
        [difference] = read_differences(record, reader.read(record))
        assert difference.path == "code"
        live = lambda_.get_function(FunctionName=record["id"])["Configuration"]["CodeSha256"]
        assert difference.live == f"sha256:{live}"
    finally:
        original = Path(record["inputs"]["code"]["path"]).read_bytes()
        lambda_.update_function_code(FunctionName=record["id"], ZipFile=original)
    assert reader.changed_paths(record) == []


# -- extras: what is attached by hand ---------------------------------------------------------------------------
def _extras(reader: Reader, type_: str, env: str, name: str) -> list[dict[str, str]]:
    return [extra.to_json() for extra in reader.read(reader.find(type_, env, name)).extras]


def test_an_inline_policy_added_by_hand_is_an_extra(reader: Reader) -> None:
    iam = reader.sandbox.client("iam")
    role, policy = "processing-validator-role", unique("by-hand")
    role_name = reader.find("aws:iam/role:Role", "dev", role)["id"]
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName=role_name, PolicyName=policy, PolicyDocument=json.dumps(document))
    try:
        [extra] = _extras(reader, "aws:iam/role:Role", "dev", role)
        assert (extra["kind"], extra["owner"], extra["aws_name"]) == ("inline-policy", role, f"{role_name}/{policy}")
        assert json.loads(extra["detail"]) == document
    finally:
        iam.delete_role_policy(RoleName=role_name, PolicyName=policy)
    assert _extras(reader, "aws:iam/role:Role", "dev", role) == []


def test_a_rule_target_added_by_hand_is_an_extra(reader: Reader) -> None:
    events, sqs = reader.sandbox.client("events"), reader.sandbox.client("sqs")
    rule = "processing-raw-uploads"
    rule_name = reader.find("aws:cloudwatch/eventRule:EventRule", "dev", rule)["id"]
    url = sqs.create_queue(QueueName=unique("read-extra-target"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule=rule_name, Targets=[{"Id": "by-hand", "Arn": arn}])
    try:
        [extra] = _extras(reader, "aws:cloudwatch/eventRule:EventRule", "dev", rule)
        assert (extra["kind"], extra["owner"], extra["aws_name"]) == (
            "rule-target",
            rule,
            f"default/{rule_name}/by-hand",
        )
        assert arn in extra["detail"]
    finally:
        events.remove_targets(Rule=rule_name, Ids=["by-hand"])
        sqs.delete_queue(QueueUrl=url)
    assert _extras(reader, "aws:cloudwatch/eventRule:EventRule", "dev", rule) == []


def test_a_subscription_added_by_hand_is_an_extra(reader: Reader) -> None:
    sns = reader.sandbox.client("sns")
    topic = "topics-failure"
    topic_arn = reader.find("aws:sns/topic:Topic", "dev", topic)["id"]
    endpoint = f"{unique('by-hand')}@example.com"
    arn = sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=endpoint, ReturnSubscriptionArn=True)[
        "SubscriptionArn"
    ]
    try:
        [extra] = _extras(reader, "aws:sns/topic:Topic", "dev", topic)
        assert (extra["kind"], extra["owner"], extra["aws_name"]) == ("subscription", topic, arn)
        assert endpoint in extra["detail"]
    finally:
        sns.unsubscribe(SubscriptionArn=arn)
    assert _extras(reader, "aws:sns/topic:Topic", "dev", topic) == []


def test_a_function_permission_added_by_hand_is_an_extra(reader: Reader) -> None:
    lambda_ = reader.sandbox.client("lambda")
    function = "processing-validator-function"
    name = reader.find("aws:lambda/function:Function", "dev", function)["id"]
    lambda_.add_permission(
        FunctionName=name, StatementId="by-hand", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com"
    )
    try:
        [extra] = _extras(reader, "aws:lambda/function:Function", "dev", function)
        assert (extra["kind"], extra["owner"], extra["aws_name"]) == (
            "function-permission",
            function,
            f"{name}/by-hand",
        )
        assert "s3.amazonaws.com" in extra["detail"]
    finally:
        lambda_.remove_permission(FunctionName=name, StatementId="by-hand")
    assert _extras(reader, "aws:lambda/function:Function", "dev", function) == []
