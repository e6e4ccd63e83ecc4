"""IAM and resource policy documents, built by pure functions so tests can check them without Pulumi.

Every statement names its actions and resources. The only `"*"` resources are for actions that support no
resource-level permission: X-Ray's trace upload, DynamoDB's ListStreams and, for functions in a VPC, EC2's
Describe calls for network interfaces and subnets (see `WILDCARD_ACTIONS`).
"""

from __future__ import annotations

from typing import Any

PolicyDocument = dict[str, Any]

# xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions in AWS,
# so these are the only actions granted on Resource "*".
XRAY_WILDCARD_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
# dynamodb:ListStreams supports no resource-level permission either: granted on a stream ARN it never applies.
STREAM_LISTING_WILDCARD_ACTIONS = ("dynamodb:ListStreams",)
# Lambda describes network interfaces and subnets with the execution role of a function in a VPC; neither
# Describe action supports resource-level permission (AWS: "only works if it's allowed on all resources").
NETWORK_INTERFACE_WILDCARD_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
WILDCARD_ACTIONS = XRAY_WILDCARD_ACTIONS + STREAM_LISTING_WILDCARD_ACTIONS + NETWORK_INTERFACE_WILDCARD_ACTIONS


def statement(sid: str, actions: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources, **extra}


def document(*statements: dict[str, Any]) -> PolicyDocument:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def service_trust(service: str) -> PolicyDocument:
    """Trust policy letting one AWS service assume the role."""
    return document({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def role_trust(
    role_arns: list[str], *, organization_id: str | None = None, external_id: str | None = None
) -> PolicyDocument:
    """Trust policy letting exactly these roles (the source's replicator and drift checker) assume this one.

    Naming the roles is as narrow as AWS allows; where settings give them, the caller must also belong to the
    organization (`aws:PrincipalOrgID`) and pass the external id (`sts:ExternalId`)."""
    conditions: dict[str, str] = {}
    if organization_id is not None:
        conditions["aws:PrincipalOrgID"] = organization_id
    if external_id is not None:
        conditions["sts:ExternalId"] = external_id
    trust: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": sorted(role_arns)}, "Action": "sts:AssumeRole"}
    if conditions:
        trust["Condition"] = {"StringEquals": conditions}
    return document(trust)


def data_bucket(bucket_arn: str, replica_reader_arns: list[str], prefixes: list[str]) -> PolicyDocument:
    """TLS only; in the source environment, the lower environments' writer roles may read replicated prefixes.

    A server-side copy into another account is authorised as the writer role reading this bucket, so across
    accounts the bucket itself must grant that read; within one account the roles' own policies suffice.
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    if replica_reader_arns:
        statements.append(
            {
                "Sid": "ReplicaWritersReadReplicatedPrefixes",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(replica_reader_arns)},
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": [f"{bucket_arn}/{prefix}*" for prefix in prefixes],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _objects(bucket_arn: str, prefixes: list[str]) -> list[str]:
    return [f"{bucket_arn}/{prefix}*" for prefix in prefixes]


def _list_prefixes(sid: str, bucket_arn: str, prefixes: list[str]) -> dict[str, Any]:
    return statement(
        sid, ["s3:ListBucket"], [bucket_arn], Condition={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}}
    )


def function_logging(log_group_arn: str) -> list[dict[str, Any]]:
    """The function's own log group only (created before the function, so no logs:CreateLogGroup)."""
    return [statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"])]


def tracing() -> list[dict[str, Any]]:
    # X-Ray trace upload supports no resource-level permissions: Resource "*" is the narrowest AWS allows.
    return [statement("UploadTraces", list(XRAY_WILDCARD_ACTIONS), ["*"])]


def replica_writer(bucket_arn: str, table_arn: str, prefixes: list[str], source_bucket_arn: str) -> PolicyDocument:
    """Write and delete only under the replicated prefixes of this env's bucket and items of its config table.

    Reading the source objects is needed because a server-side copy is authorised as the caller reading the
    source; it is limited to the same prefixes of the source bucket.
    """
    return document(
        statement(
            "WriteReplicatedObjects",
            [
                "s3:PutObject",
                "s3:PutObjectTagging",
                "s3:DeleteObject",
                "s3:DeleteObjectTagging",
                "s3:GetObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            _objects(bucket_arn, prefixes),
        ),
        _list_prefixes("ListReplicatedPrefixes", bucket_arn, prefixes),
        statement("ReadSourceObjects", ["s3:GetObject", "s3:GetObjectVersion"], _objects(source_bucket_arn, prefixes)),
        statement(
            "WriteReplicatedItems",
            ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Scan"],
            [table_arn],
        ),
    )


def validator(
    bucket_arn: str, metadata_table_arn: str, task_queue_arn: str, topic_arns: list[str]
) -> list[dict[str, Any]]:
    return [
        statement(
            "ReadUploadsAndSchemas",
            ["s3:GetObject", "s3:GetObjectVersion"],
            [f"{bucket_arn}/raw/*", f"{bucket_arn}/schemas/*"],
        ),
        statement("RecordMetadata", ["dynamodb:PutItem"], [metadata_table_arn]),
        statement("QueueTasks", ["sqs:SendMessage"], [task_queue_arn]),
        statement("Notify", ["sns:Publish"], topic_arns),
    ]


def task_processor(task_queue_arn: str, metadata_table_arn: str, topic_arns: list[str]) -> list[dict[str, Any]]:
    return [
        statement(
            "ConsumeTasks",
            ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
            [task_queue_arn],
        ),
        statement("UpdateMetadata", ["dynamodb:UpdateItem", "dynamodb:GetItem"], [metadata_table_arn]),
        statement("Notify", ["sns:Publish"], topic_arns),
    ]


def replicator(
    source_bucket_arn: str,
    source_table_arn: str,
    idempotency_table_arn: str,
    writer_role_arns: list[str],
    topic_arns: list[str],
    dlq_arn: str,
    prefixes: list[str],
) -> list[dict[str, Any]]:
    return [
        statement(
            "ReadSourceObjects",
            ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"],
            _objects(source_bucket_arn, prefixes),
        ),
        _list_prefixes("ListSourcePrefixes", source_bucket_arn, prefixes),
        statement("ReadSourceItems", ["dynamodb:GetItem", "dynamodb:Scan"], [source_table_arn]),
        statement(
            "IdempotencyRecords",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [idempotency_table_arn],
        ),
        statement("AssumeWriterRoles", ["sts:AssumeRole"], writer_role_arns),
        statement("Notify", ["sns:Publish"], topic_arns),
        statement("SendFailuresToDeadLetterQueue", ["sqs:SendMessage"], [dlq_arn]),
    ]


def drift_checker(
    source_bucket_arn: str,
    source_table_arn: str,
    writer_role_arns: list[str],
    topic_arns: list[str],
    prefixes: list[str],
    dlq_arn: str,
    *,
    rule_arns: list[str] | None = None,
    pipe_arns: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Read prod's replicated data and assume the writer roles to read each target's; read back the rules and
    the Pipe that feed the replicator (`rule_arns`, `pipe_arns`), those and no other."""
    statements = [
        statement("ReadSourceObjects", ["s3:GetObject"], _objects(source_bucket_arn, prefixes)),
        _list_prefixes("ListSourcePrefixes", source_bucket_arn, prefixes),
        statement("ReadSourceItems", ["dynamodb:Scan"], [source_table_arn]),
        statement("AssumeWriterRoles", ["sts:AssumeRole"], writer_role_arns),
        statement("Notify", ["sns:Publish"], topic_arns),
        statement("SendFailuresToDeadLetterQueue", ["sqs:SendMessage"], [dlq_arn]),
    ]
    # A statement needs at least one resource: a path kind with nothing to read gets no statement at all.
    if rule_arns:
        statements.append(
            statement("ReadReplicationRules", ["events:DescribeRule", "events:ListTargetsByRule"], sorted(rule_arns))
        )
    if pipe_arns:
        statements.append(statement("ReadReplicationPipe", ["pipes:DescribePipe"], sorted(pipe_arns)))
    return statements


def config_pipe(stream_arn: str, bus_arn: str, dlq_arn: str) -> PolicyDocument:
    return document(
        statement(
            "ReadConfigStream",
            ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
            [stream_arn],
        ),
        # Resource "*" is the narrowest AWS allows for ListStreams (see STREAM_LISTING_WILDCARD_ACTIONS).
        statement("ListStreams", list(STREAM_LISTING_WILDCARD_ACTIONS), ["*"]),
        statement("PutChangeEvents", ["events:PutEvents"], [bus_arn]),
        # A Pipe sends the records it gave up on with its own role.
        statement("SendFailedRecordsToDeadLetterQueue", ["sqs:SendMessage"], [dlq_arn]),
    )


def dead_letter_queue(queue_arn: str, rule_arns: list[str]) -> PolicyDocument:
    """Let EventBridge put events it could not deliver into the DLQ, only from our own rules."""
    return document(
        {
            "Sid": "EventBridgeDeadLetters",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}},
        }
    )


CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"


def _from_alarms(account_id: str, alarm_arns: str) -> dict[str, Any]:
    """Only this account's alarms of this environment (the confused-deputy guard AWS recommends)."""
    return {"ArnLike": {"aws:SourceArn": alarm_arns}, "StringEquals": {"aws:SourceAccount": account_id}}


def alarm_topic(topic_arn: str, account_id: str, alarm_arns: str) -> PolicyDocument:
    """Let CloudWatch publish the environment's alarm notifications to the failure topic, and nothing else.

    The account's own roles publish through their IAM grants (same account), so no statement names them.
    """
    return document(
        {
            "Sid": "CloudWatchAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDWATCH_SERVICE},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": _from_alarms(account_id, alarm_arns),
        }
    )


def alarm_topic_key(account_id: str, region: str, alarm_arns: str) -> PolicyDocument:
    """Key policy of the failure topic's key. CloudWatch cannot publish to a topic encrypted with the AWS managed
    key (its policy cannot name CloudWatch), so the topic has a key of its own: administered through IAM as any
    default key policy does, usable through SNS by the account's principals (what the AWS managed key allowed, so
    the functions' roles need no new grant) and by the environment's alarms.

    In a key policy `Resource: "*"` means this key.
    """
    data_key_actions = ["kms:Decrypt", "kms:GenerateDataKey*"]
    return document(
        {
            "Sid": "AccountAdministersThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "AccountPublishesThroughSns",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": data_key_actions,
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:CallerAccount": account_id, "kms:ViaService": f"sns.{region}.amazonaws.com"}
            },
        },
        {
            "Sid": "CloudWatchAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDWATCH_SERVICE},
            "Action": data_key_actions,
            "Resource": "*",
            "Condition": _from_alarms(account_id, alarm_arns),
        },
    )
