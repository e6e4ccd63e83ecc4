"""Policy documents of the functions' network: the execution role's network-interface grants and the VPC
endpoint policies. Pure functions of plain values, so tests check them without Pulumi.

Resources are listed in the order the caller gives them (the same in every environment, so drift compares
them position by position). An endpoint policy is a second gate: a request through the endpoint must be
allowed both by it and by the caller's own policies. Each allows only the actions the functions use, on this
environment's resources (and, for S3, DynamoDB and STS in the replication source, the targets' buckets,
tables and writer roles), and only to principals of the environments' own accounts.
"""

from __future__ import annotations

from typing import Any

from pipeline_infra.policies.documents import NETWORK_INTERFACE_WILDCARD_ACTIONS, PolicyDocument, document, statement

# Lambda creates the function's network interfaces with its execution role. The Describe actions support no
# resource-level permission (NETWORK_INTERFACE_WILDCARD_ACTIONS; DescribeSubnets is in AWS's
# AWSLambdaVPCAccessExecutionRole since its version 3). Create, Delete, Assign and Unassign are scoped to this
# account's and region's network interfaces, and Create also to the configured subnets and security groups.
NETWORK_INTERFACE_ACTIONS = (
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)

# Actions an endpoint policy may allow on Resource "*", because the action supports no resource-level
# permission: CloudWatch's PutMetricData (narrowed by the `cloudwatch:namespace` condition to the project's
# namespace) and X-Ray's trace upload.
METRICS_WILDCARD_ACTIONS = ("cloudwatch:PutMetricData",)
TRACES_WILDCARD_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
ENDPOINT_WILDCARD_ACTIONS = METRICS_WILDCARD_ACTIONS + TRACES_WILDCARD_ACTIONS

# What the functions do with each service (the union of their roles' grants), and nothing else.
S3_OBJECT_ACTIONS = (
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:DeleteObjectTagging",
    "s3:GetObject",
    "s3:GetObjectTagging",
    "s3:GetObjectVersion",
    "s3:GetObjectVersionTagging",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
    "s3:PutObjectTagging",
)
S3_BUCKET_ACTIONS = ("s3:ListBucket",)
DYNAMODB_ACTIONS = (
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)
SQS_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
)
SNS_ACTIONS = ("sns:Publish",)
STS_ACTIONS = ("sts:AssumeRole",)
LOGS_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
EVENTS_RULE_ACTIONS = ("events:DescribeRule", "events:ListTargetsByRule")
EVENTS_BUS_ACTIONS = ("events:PutEvents",)


def ec2_arn(region: str, account_id: str, resource: str) -> str:
    return f"arn:aws:ec2:{region}:{account_id}:{resource}"


def network_interfaces(
    region: str, account_id: str, subnet_ids: list[str], security_group_ids: list[str]
) -> list[dict[str, Any]]:
    """What Lambda needs of the execution role to attach the function to its subnets."""
    interfaces = ec2_arn(region, account_id, "network-interface/*")
    placement = [ec2_arn(region, account_id, f"subnet/{subnet}") for subnet in subnet_ids]
    placement += [ec2_arn(region, account_id, f"security-group/{group}") for group in security_group_ids]
    return [
        statement("CreateNetworkInterfaces", ["ec2:CreateNetworkInterface"], [interfaces, *placement]),
        statement("ManageNetworkInterfaces", list(NETWORK_INTERFACE_ACTIONS), [interfaces]),
        # Resource "*" is the narrowest AWS allows (see NETWORK_INTERFACE_WILDCARD_ACTIONS).
        statement("DescribeNetworkInterfaces", list(NETWORK_INTERFACE_WILDCARD_ACTIONS), ["*"]),
    ]


def _allow(
    sid: str, actions: tuple[str, ...], resources: list[str], accounts: list[str], **conditions: Any
) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": "*",
        "Action": sorted(actions),
        "Resource": resources,
        "Condition": {"StringEquals": {"aws:PrincipalAccount": sorted(set(accounts)), **conditions}},
    }


def _objects_and_buckets(bucket_arns: list[str]) -> list[str]:
    return [arn for bucket in bucket_arns for arn in (bucket, f"{bucket}/*")]


def s3_endpoint(bucket_arns: list[str], replica_bucket_arns: list[str], accounts: list[str]) -> PolicyDocument:
    """This environment's bucket; in the replication source, also the targets' buckets the replicas go to."""
    statements = [
        _allow(
            "ThisEnvironmentsBucket", S3_OBJECT_ACTIONS + S3_BUCKET_ACTIONS, _objects_and_buckets(bucket_arns), accounts
        )
    ]
    if replica_bucket_arns:
        statements.append(
            _allow(
                "ReplicaBuckets",
                S3_OBJECT_ACTIONS + S3_BUCKET_ACTIONS,
                _objects_and_buckets(replica_bucket_arns),
                accounts,
            )
        )
    return document(*statements)


def dynamodb_endpoint(table_arns: list[str], replica_table_arns: list[str], accounts: list[str]) -> PolicyDocument:
    statements = [_allow("ThisEnvironmentsTables", DYNAMODB_ACTIONS, list(table_arns), accounts)]
    if replica_table_arns:
        statements.append(_allow("ReplicaTables", DYNAMODB_ACTIONS, list(replica_table_arns), accounts))
    return document(*statements)


def sqs_endpoint(queue_arns: list[str], accounts: list[str]) -> PolicyDocument:
    return document(_allow("ThisEnvironmentsQueues", SQS_ACTIONS, list(queue_arns), accounts))


def sns_endpoint(topic_arns: list[str], accounts: list[str]) -> PolicyDocument:
    return document(_allow("ThisEnvironmentsTopics", SNS_ACTIONS, list(topic_arns), accounts))


def sts_endpoint(role_arns: list[str], accounts: list[str]) -> PolicyDocument:
    """The writer roles this environment's functions assume; with none, nothing passes the endpoint."""
    if not role_arns:
        return document(
            {"Sid": "NothingToAssume", "Effect": "Deny", "Principal": "*", "Action": "sts:*", "Resource": "*"}
        )
    return document(_allow("AssumeWriterRoles", STS_ACTIONS, list(role_arns), accounts))


def logs_endpoint(log_group_arns: list[str], accounts: list[str]) -> PolicyDocument:
    streams = [f"{arn}:*" for arn in log_group_arns]
    return document(_allow("ThisEnvironmentsFunctionLogs", LOGS_ACTIONS, streams, accounts))


def monitoring_endpoint(namespace: str, accounts: list[str]) -> PolicyDocument:
    # PutMetricData supports no resource-level permission: Resource "*", narrowed to the project's namespace.
    return document(
        _allow(
            "PutProjectMetrics",
            METRICS_WILDCARD_ACTIONS,
            ["*"],
            accounts,
            **{"cloudwatch:namespace": namespace},
        )
    )


def events_endpoint(rule_arns: list[str], bus_arns: list[str], accounts: list[str]) -> PolicyDocument:
    return document(
        _allow("ReadThisEnvironmentsRules", EVENTS_RULE_ACTIONS, list(rule_arns), accounts),
        _allow("PutEventsOnThisEnvironmentsBuses", EVENTS_BUS_ACTIONS, list(bus_arns), accounts),
    )


def xray_endpoint(accounts: list[str]) -> PolicyDocument:
    # X-Ray trace upload supports no resource-level permission: Resource "*" is the narrowest AWS allows.
    return document(_allow("UploadTraces", TRACES_WILDCARD_ACTIONS, ["*"], accounts))
