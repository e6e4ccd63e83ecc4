"""Handlers against a moto server on 127.0.0.1, with the resources each function expects created by boto3."""

from __future__ import annotations

import copy
import json
import logging
import os
import socket
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

if TYPE_CHECKING:
    from collections.abc import Iterator

EVENTS = Path(__file__).resolve().parents[1] / "events"
REGION = "us-east-1"
ACCOUNT = "123456789012"
SUFFIX = "pl01"
ENVIRONMENTS = ("prod", "dev", "staging")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def s3_event(key: str, *, deleted: bool = False, event_id: str | None = None, **object_fields: Any) -> dict[str, Any]:
    """The sample EventBridge S3 event for ``key`` (taken verbatim, as EventBridge delivers it)."""
    event = copy.deepcopy(load_event("s3_object_deleted.json" if deleted else "s3_object_created.json"))
    event["detail"]["object"] = {"key": key, **object_fields}
    if event_id:
        event["id"] = event_id
    return event


def item_event(pk: str, sk: str, sequence: int, name: str = "MODIFY", event_id: str | None = None) -> dict[str, Any]:
    event = copy.deepcopy(load_event("config_item_changed.json"))
    record = event["detail"]
    record["eventName"] = name
    record["eventID"] = event_id or f"evt-{sequence}"
    record["dynamodb"]["Keys"] = {"pk": {"S": pk}, "sk": {"S": sk}}
    record["dynamodb"]["SequenceNumber"] = str(sequence)
    return event


@dataclass
class LambdaContext:
    function_name: str = "lambda-test-prod-pl01"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:lambda-test-prod-pl01"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def bucket_name(env: str) -> str:
    return f"company-data-{env}-{REGION}-{SUFFIX}"


def table_name(purpose: str, env: str) -> str:
    return f"ddb-{purpose}-{env}-{SUFFIX}"


def replacements(env: str) -> list[list[str]]:
    return [[bucket_name("prod"), bucket_name(env)], [f"-prod-{SUFFIX}", f"-{env}-{SUFFIX}"]]


def targets_json(overlay_dev: dict[str, Any] | None = None) -> str:
    targets = []
    for env in ("dev", "staging"):
        targets.append(
            {
                "environment": env,
                "bucket": bucket_name(env),
                "config_table": table_name("config", env),
                "writer_role_arn": f"arn:aws:iam::{ACCOUNT}:role/iam-replica-writer-{env}-{SUFFIX}",
                "region": REGION,
                "replacements": replacements(env),
                "overlay": (overlay_dev or {}) if env == "dev" else {},
            }
        )
    return json.dumps(targets)


@dataclass
class Aws:
    """The emulated account: clients, resource names and the queues that receive every SNS message."""

    endpoint: str
    s3: Any
    dynamodb: Any
    sqs: Any
    sns: Any
    sts: Any
    topics: dict[str, str] = field(default_factory=dict)
    inboxes: dict[str, str] = field(default_factory=dict)
    task_queue_url: str = ""
    task_dlq_url: str = ""
    replication_dlq_url: str = ""

    def environ(self, **overrides: str) -> dict[str, str]:
        env = {
            "PIPELINE_ENVIRONMENT": "prod",
            "DATA_BUCKET": bucket_name("prod"),
            "CONFIG_TABLE": table_name("config", "prod"),
            "METADATA_TABLE": table_name("metadata", "prod"),
            "TASK_QUEUE_URL": self.task_queue_url,
            "SUCCESS_TOPIC_ARN": self.topics["success"],
            "FAILURE_TOPIC_ARN": self.topics["failure"],
            "IDEMPOTENCY_TABLE": table_name("idempotency", "prod"),
            "IDEMPOTENCY_TTL_SECONDS": "3600",
            "REPLICATION_TARGETS": targets_json({"logging": {"level": "DEBUG"}}),
            "PROPAGATE_DELETES": "true",
            "DEAD_LETTER_QUEUE_URL": self.replication_dlq_url,
            "ASYNC_MAX_ATTEMPTS": "3",
        }
        env.update(overrides)
        return env

    def notifications(self, topic: str) -> list[dict[str, Any]]:
        """Every message published to ``topic`` so far: body plus message attributes (raw delivery)."""
        found: list[dict[str, Any]] = []
        while True:
            response = self.sqs.receive_message(
                QueueUrl=self.inboxes[topic], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            )
            messages = response.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
                found.append({"body": json.loads(message["Body"]), "attributes": attributes})
                self.sqs.delete_message(QueueUrl=self.inboxes[topic], ReceiptHandle=message["ReceiptHandle"])

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every record the replicator dead-lettered so far (removed from the queue)."""
        found: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.replication_dlq_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.replication_dlq_url, ReceiptHandle=message["ReceiptHandle"])

    def put(self, key: str, body: bytes | str, env: str = "prod", **kwargs: Any) -> dict[str, Any]:
        data = body.encode() if isinstance(body, str) else body
        return dict(self.s3.put_object(Bucket=bucket_name(env), Key=key, Body=data, **kwargs))

    def read(self, key: str, env: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=bucket_name(env), Key=key)["Body"].read())

    def exists(self, key: str, env: str) -> bool:
        listed = self.s3.list_objects_v2(Bucket=bucket_name(env), Prefix=key).get("Contents", [])
        return any(entry["Key"] == key for entry in listed)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns test output
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    saved = {
        k: os.environ.get(k)
        for k in (
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
        )
    }
    endpoint = f"http://127.0.0.1:{port}"
    # Clients built by the functions themselves find the emulator through boto3's standard variable.
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    yield endpoint
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _reset(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


@pytest.fixture
def aws(moto_endpoint: str) -> Aws:
    """A fresh emulated account with every environment's storage, topics and the task queue."""
    _reset(moto_endpoint)
    clients = {name: boto3.client(name, region_name=REGION) for name in ("s3", "dynamodb", "sqs", "sns", "sts")}
    aws = Aws(endpoint=moto_endpoint, **clients)
    for env in ENVIRONMENTS:
        aws.s3.create_bucket(Bucket=bucket_name(env))
        aws.s3.put_bucket_versioning(Bucket=bucket_name(env), VersioningConfiguration={"Status": "Enabled"})
        aws.dynamodb.create_table(
            TableName=table_name("config", env),
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
    aws.dynamodb.create_table(
        TableName=table_name("metadata", "prod"),
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "dataset", "AttributeType": "S"},
            {"AttributeName": "timestamp", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "timestamp-index",
                "KeySchema": [
                    {"AttributeName": "dataset", "KeyType": "HASH"},
                    {"AttributeName": "timestamp", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    aws.dynamodb.create_table(
        TableName=table_name("idempotency", "prod"),
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for topic in ("success", "failure"):
        arn = aws.sns.create_topic(Name=f"sns-{topic}-prod-{SUFFIX}")["TopicArn"]
        inbox = aws.sqs.create_queue(QueueName=f"inbox-{topic}")["QueueUrl"]
        inbox_arn = aws.sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        aws.sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
        aws.topics[topic], aws.inboxes[topic] = arn, inbox
    aws.replication_dlq_url = aws.sqs.create_queue(QueueName=f"sqs-replication-dlq-prod-{SUFFIX}")["QueueUrl"]
    aws.task_dlq_url = aws.sqs.create_queue(QueueName=f"sqs-tasks-dlq-prod-{SUFFIX}")["QueueUrl"]
    dlq_arn = aws.sqs.get_queue_attributes(QueueUrl=aws.task_dlq_url, AttributeNames=["QueueArn"])["Attributes"]
    aws.task_queue_url = aws.sqs.create_queue(
        QueueName=f"sqs-tasks-prod-{SUFFIX}",
        Attributes={
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": "3"}),
        },
    )["QueueUrl"]
    return aws


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


def emf_metrics(output: str) -> list[dict[str, Any]]:
    """Every EMF record printed so far, flattened to name, value and dimensions."""
    found = []
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        record = json.loads(line)
        for directive in record["_aws"]["CloudWatchMetrics"]:
            dims = {name: record[name] for group in directive["Dimensions"] for name in group}
            for metric in directive["Metrics"]:
                value = record[metric["Name"]]
                # Powertools writes single values as a one-element list.
                value = value[0] if isinstance(value, list) and len(value) == 1 else value
                found.append({"name": metric["Name"], "value": value, "dimensions": dims})
    return found
