"""One out-of-band change per resource type the project deploys, made with the administrator's clients as a person
would, and how to undo it. Each `change` is a context manager: the change is made on entry and undone on exit."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.resources.base import camel_to_pascal

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.integration.conftest import DeployedSandbox

Record = dict[str, Any]


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
        # Undo puts the statement back only where a deploy has not already: AWS refuses a second statement with the
        # same id, the emulator would keep both.
        try:
            statements = json.loads(lambda_.get_policy(FunctionName=inputs["function"])["Policy"])["Statement"]
        except lambda_.exceptions.ResourceNotFoundException:  # the function's last statement was this one
            statements = []
        if all(statement.get("Sid") != record["id"] for statement in statements):
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


@contextmanager
def disable_alarm_actions(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    cloudwatch = sandbox.client("cloudwatch")
    cloudwatch.disable_alarm_actions(AlarmNames=[record["id"]])
    try:
        yield
    finally:
        cloudwatch.enable_alarm_actions(AlarmNames=[record["id"]])


@contextmanager
def retitle_dashboard(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    cloudwatch = sandbox.client("cloudwatch")
    original = cloudwatch.get_dashboard(DashboardName=record["id"])["DashboardBody"]
    body = json.loads(original)
    body["widgets"][0]["properties"]["markdown"] = "# Renamed by hand"
    cloudwatch.put_dashboard(DashboardName=record["id"], DashboardBody=json.dumps(body))
    try:
        yield
    finally:
        cloudwatch.put_dashboard(DashboardName=record["id"], DashboardBody=original)


@contextmanager
def stop_key_rotation(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    kms = sandbox.client("kms")
    kms.disable_key_rotation(KeyId=record["id"])
    try:
        yield
    finally:
        kms.enable_key_rotation(KeyId=record["id"])


OUT_OF_BAND = [
    OutOfBand(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "dev",
        "alarms-tasks-dlq-messages",
        disable_alarm_actions,
        "actionsEnabled",
    ),
    OutOfBand(
        "aws:cloudwatch/dashboard:Dashboard",
        "dev",
        "dashboard-dashboard",
        retitle_dashboard,
        "dashboardBody.widgets[0].properties.markdown",
    ),
    OutOfBand("aws:kms/key:Key", "dev", "topics-failure-key", stop_key_rotation, "enableKeyRotation"),
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


# -- the functions' network (the VPC profile's sandbox, test_vpc_profile.py) -----------------------------------
@contextmanager
def untag_security_group(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    ec2, group = sandbox.client("ec2"), record["id"]
    layer = record["outputs"]["tagsAll"]["Layer"]
    ec2.delete_tags(Resources=[group], Tags=[{"Key": "Layer"}])
    try:
        yield
    finally:
        ec2.create_tags(Resources=[group], Tags=[{"Key": "Layer", "Value": layer}])


def _rule_description(sandbox: DeployedSandbox, record: Record, description: str) -> None:
    inputs = record["inputs"]
    peer = (
        {"ReferencedGroupId": inputs["referencedSecurityGroupId"]}
        if inputs.get("referencedSecurityGroupId")
        else {"PrefixListId": inputs["prefixListId"]}
    )
    rule = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "Description": description, **peer}
    sandbox.client("ec2").modify_security_group_rules(
        GroupId=inputs["securityGroupId"],
        SecurityGroupRules=[{"SecurityGroupRuleId": record["id"], "SecurityGroupRule": rule}],
    )


@contextmanager
def redescribe_rule(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    _rule_description(sandbox, record, "changed by hand")
    try:
        yield
    finally:
        _rule_description(sandbox, record, record["inputs"]["description"])


@contextmanager
def detach_route_table(sandbox: DeployedSandbox, record: Record) -> Iterator[None]:
    ec2, tables = sandbox.client("ec2"), record["inputs"]["routeTableIds"]
    ec2.modify_vpc_endpoint(VpcEndpointId=record["id"], RemoveRouteTableIds=tables[:1])
    try:
        yield
    finally:
        ec2.modify_vpc_endpoint(VpcEndpointId=record["id"], AddRouteTableIds=tables[:1])


NETWORK_OUT_OF_BAND = [
    OutOfBand("aws:ec2/securityGroup:SecurityGroup", "dev", "network-functions", untag_security_group, "tagsAll.Layer"),
    OutOfBand(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "dev",
        "network-endpoints-https-in",
        redescribe_rule,
        "description",
    ),
    OutOfBand(
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "prod",
        "network-functions-https-to-s3",
        redescribe_rule,
        "description",
    ),
    OutOfBand("aws:ec2/vpcEndpoint:VpcEndpoint", "prod", "network-s3", detach_route_table, "routeTableIds"),
]
