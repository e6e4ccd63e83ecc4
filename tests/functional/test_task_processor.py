"""Task processor: partial batch failures, PROCESSED with a duration, poison messages to the DLQ."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_functions.replicator.items import to_python
from pipeline_functions.task_processor import TaskRunner, TaskSettings, handler

from .conftest import load_event, table_name

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .conftest import Aws, LambdaContext


@pytest.fixture
def processor(aws: Aws) -> Iterator[None]:
    handler.service.override(TaskRunner(TaskSettings.from_env(aws.environ()), dynamodb_client=aws.dynamodb))
    yield
    handler.service.reset()


def put_metadata(aws: Aws, key: str, status: str = "VALID") -> None:
    aws.dynamodb.put_item(
        TableName=table_name("metadata", "prod"),
        Item={
            "pk": {"S": key},
            "dataset": {"S": "orders"},
            "status": {"S": status},
            "timestamp": {"S": "2024-05-14T09:30:01.000000Z"},
        },
    )


def metadata(aws: Aws, key: str) -> dict[str, Any]:
    return to_python(aws.dynamodb.get_item(TableName=table_name("metadata", "prod"), Key={"pk": {"S": key}})["Item"])


@pytest.mark.usefixtures("processor")
def test_a_batch_reports_only_its_failed_messages(aws: Aws, context: LambdaContext) -> None:
    put_metadata(aws, "raw/orders/2024/05/14/orders-1.ndjson")
    put_metadata(aws, "raw/orders/2024/05/14/orders-2.ndjson")
    response = handler.lambda_handler(load_event("sqs_task_batch.json"), context)
    failed = sorted(f["itemIdentifier"] for f in response["batchItemFailures"])
    assert failed == ["9a1c2b7e-5d3f-4e8a-b6c1-0f2d3e4a5b6c", "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"]
    for key in ("raw/orders/2024/05/14/orders-1.ndjson", "raw/orders/2024/05/14/orders-2.ndjson"):
        item = metadata(aws, key)
        assert item["status"] == "PROCESSED"
        assert item["duration_ms"] >= 0
        assert item["latency_seconds"] > 0
        assert item["processed_at"].endswith("Z")


@pytest.mark.usefixtures("processor")
def test_redelivered_and_not_valid_tasks(aws: Aws, context: LambdaContext) -> None:
    put_metadata(aws, "raw/orders/2024/05/14/orders-1.ndjson", status="PROCESSED")
    put_metadata(aws, "raw/orders/2024/05/14/orders-2.ndjson", status="INVALID")
    event = copy.deepcopy(load_event("sqs_task_batch.json"))
    event["Records"] = event["Records"][:2]
    response = handler.lambda_handler(event, context)
    # An already processed file succeeds without another write; an INVALID one is refused.
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ["2e1424d4-f796-459a-8184-9c92662be6da"]
    assert metadata(aws, "raw/orders/2024/05/14/orders-2.ndjson")["status"] == "INVALID"


@pytest.mark.usefixtures("processor")
def test_a_poison_message_reaches_the_dlq_after_three_receives_without_blocking_others(
    aws: Aws, context: LambdaContext
) -> None:
    # GIVEN a queue (maxReceiveCount 3) holding a poison message and, later, a good one
    aws.sqs.send_message(QueueUrl=aws.task_queue_url, MessageBody="poison")
    good = "raw/orders/good.ndjson"
    put_metadata(aws, good)
    # WHEN the function consumes it the way the Lambda event source mapping does
    for attempt in range(4):
        if attempt == 1:
            aws.sqs.send_message(QueueUrl=aws.task_queue_url, MessageBody=json.dumps({"key": good}))
        received = aws.sqs.receive_message(
            QueueUrl=aws.task_queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not received:
            continue
        event = {"Records": [_as_record(m) for m in received]}
        failed = {f["itemIdentifier"] for f in handler.lambda_handler(event, context)["batchItemFailures"]}
        for message in received:
            if message["MessageId"] not in failed:
                aws.sqs.delete_message(QueueUrl=aws.task_queue_url, ReceiptHandle=message["ReceiptHandle"])
    # THEN the good one was processed and the poison one sits in the DLQ
    assert metadata(aws, good)["status"] == "PROCESSED"
    dead = aws.sqs.receive_message(QueueUrl=aws.task_dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in dead] == ["poison"]


def _as_record(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sqs-tasks-prod-pl01",
        "awsRegion": "us-east-1",
    }
