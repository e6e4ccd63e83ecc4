"""Validator: raw/ uploads checked against schemas/<dataset>.json, recorded, and handed on or reported."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import pytest

from pipeline_functions.replicator.items import to_python
from pipeline_functions.validator import Validator, ValidatorSettings

from .conftest import emf_metrics, load_event, s3_event, table_name

if TYPE_CHECKING:
    from .conftest import Aws, LambdaContext

ORDERS_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["order_id", "amount"],
    "properties": {
        "order_id": {"type": "integer"},
        "amount": {"type": "number", "minimum": 0},
        "currency": {"$ref": "#/definitions/currency"},
    },
    "definitions": {"currency": {"type": "string", "enum": ["EUR", "USD"]}},
}


@pytest.fixture
def validator(aws: Aws) -> Validator:
    aws.put("schemas/orders.json", json.dumps(ORDERS_SCHEMA))
    settings = ValidatorSettings.from_env(aws.environ())
    return Validator(settings, s3_client=aws.s3, dynamodb_client=aws.dynamodb, sqs_client=aws.sqs, sns_client=aws.sns)


def metadata(aws: Aws, key: str) -> dict[str, Any]:
    item = aws.dynamodb.get_item(TableName=table_name("metadata", "prod"), Key={"pk": {"S": key}})["Item"]
    return to_python(item)


def tasks(aws: Aws) -> list[dict[str, Any]]:
    messages = aws.sqs.receive_message(QueueUrl=aws.task_queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def validate(validator: Validator, aws: Aws, key: str, body: bytes | str) -> dict[str, Any]:
    aws.put(key, body)
    validator.handle(s3_event(key))
    return metadata(aws, key)


@pytest.mark.parametrize(
    ("key", "body", "records"),
    [
        ("raw/orders/2024/05/a.json", json.dumps([{"order_id": i, "amount": i * 1.5} for i in range(1200)]), 1200),
        ("raw/orders/2024/05/b.json", json.dumps({"order_id": 1, "amount": 2, "currency": "EUR"}), 1),
        ("raw/orders/2024/05/c.ndjson", "\n".join(json.dumps({"order_id": i, "amount": 1}) for i in range(3)), 3),
        ("raw/orders/2024/05/d.csv", "order_id,amount,currency\n1,9.5,EUR\n2,0,USD\n", 2),
    ],
)
def test_valid_files_are_recorded_and_queued(
    validator: Validator, aws: Aws, key: str, body: str, records: int, capsys: pytest.CaptureFixture[str]
) -> None:
    item = validate(validator, aws, key, body)
    assert item["status"] == "VALID"
    assert item["record_count"] == records
    assert item["dataset"] == "orders"
    assert item["size"] == len(body.encode())
    assert item["checksum"].startswith("sha256:")
    assert item["timestamp"].endswith("Z")
    assert item["errors"] == []
    assert [t["key"] for t in tasks(aws)] == [key]
    assert aws.notifications("failure") == []
    assert any(m["name"] == "FilesValid" for m in emf_metrics(capsys.readouterr().out))


@pytest.mark.parametrize(
    ("key", "body", "reason"),
    [
        (
            "raw/orders/x.json",
            json.dumps([{"order_id": 1, "amount": 1}, {"order_id": "two", "amount": -1}]),
            "record 2",
        ),
        ("raw/orders/x.ndjson", '{"order_id": 1, "amount": 1}\n{"amount": 5}\n', "record 2: data must contain"),
        ("raw/orders/x.csv", "order_id,amount,currency\n1,1,GBP\n", "data.currency must be one of"),
        ("raw/orders/x.ndjson", '{"order_id": 1, "amount": 1}\n{not json\n', "line 2 is not valid JSON"),
        ("raw/orders/x.json", b"", "file is empty"),
        ("raw/orders/x.ndjson", b'{"order_id": 1, "amount": 1}\n{"caf\xe9": 1}\n', "not UTF-8"),
        ("raw/unknown/x.json", "[]", "no schema for dataset 'unknown'"),
        ("raw/orders/x.parquet", b"PAR1", "unsupported file type"),
        ("raw/orders/x.csv", "order_id,amount\n", "no records"),
    ],
)
def test_invalid_files_are_recorded_with_a_clear_reason_and_reported(
    validator: Validator, aws: Aws, key: str, body: bytes | str, reason: str
) -> None:
    item = validate(validator, aws, key, body)
    assert item["status"] == "INVALID"
    assert any(reason in error for error in item["errors"]), item["errors"]
    assert tasks(aws) == []
    failures = aws.notifications("failure")
    assert [(n["attributes"]["outcome"], n["attributes"]["source"]) for n in failures] == [("invalid", "validator")]
    assert reason in failures[0]["body"]["reason"]


def test_many_invalid_records_are_counted_and_the_first_ones_named(validator: Validator, aws: Aws) -> None:
    body = "\n".join(json.dumps({"order_id": i, "amount": -1}) for i in range(1000))
    item = validate(validator, aws, "raw/orders/many.ndjson", body)
    assert item["status"] == "INVALID"
    assert item["error_count"] == 1000
    assert len(item["errors"]) == 20
    assert item["record_count"] == 1000


def test_an_object_deleted_before_validation_is_skipped_without_a_record(validator: Validator, aws: Aws) -> None:
    result = validator.handle(s3_event("raw/orders/vanished.json"))
    assert result["results"][0]["status"] == "SKIPPED"
    assert "Item" not in aws.dynamodb.get_item(
        TableName=table_name("metadata", "prod"), Key={"pk": {"S": "raw/orders/vanished.json"}}
    )


def test_s3_notification_records_with_encoded_keys_are_decoded(validator: Validator, aws: Aws) -> None:
    key = "raw/orders/2024/05/14/orders batch#1.ndjson"
    aws.put(key, json.dumps({"order_id": 1, "amount": 1}))
    event = load_event("s3_notification_record.json")
    assert event["Records"][0]["s3"]["object"]["key"] == quote_plus(key, safe="/")
    validator.handle(event)
    assert metadata(aws, key)["status"] == "VALID"


def test_lambda_handler_uses_the_environment(aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline_functions.validator import handler

    for name, value in aws.environ().items():
        monkeypatch.setenv(name, value)
    handler.service.reset()
    aws.put("schemas/orders.json", json.dumps(ORDERS_SCHEMA))
    aws.put("raw/orders/h.json", json.dumps({"order_id": 1, "amount": 1}))
    try:
        result = handler.lambda_handler(s3_event("raw/orders/h.json"), context)
    finally:
        handler.service.reset()
    assert result["results"][0]["status"] == "VALID"
