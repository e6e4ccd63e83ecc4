"""Raw uploads processed in every environment: validated against the dataset's schema, recorded, then processed.

The dataset's schema is put in prod's `schemas/` once; replication brings it to dev and staging, so every
environment validates against the same schema, as it would in practice.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.conftest import ENVIRONMENTS
from tests.integration.helpers import read_item, subscribed, targets, unique, wait_for_item, wait_for_object

if TYPE_CHECKING:
    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration

SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["order_id", "amount"],
    "properties": {"order_id": {"type": "string"}, "amount": {"type": "number", "minimum": 0}},
}


@pytest.fixture(scope="module")
def dataset(sandbox: DeployedSandbox) -> str:
    """A dataset of this module's own, its schema written in prod and replicated to every target."""
    s3, name = sandbox.client("s3"), unique("orders")
    key = f"schemas/{name}.json"
    s3.put_object(Bucket=sandbox.outputs("storage", "prod")["bucket_name"], Key=key, Body=json.dumps(SCHEMA).encode())
    for env in targets(sandbox):
        wait_for_object(s3, sandbox.outputs("storage", env)["bucket_name"], key)
    return name


def upload(sandbox: DeployedSandbox, env: str, dataset: str, records: list[dict[str, Any]]) -> tuple[str, str]:
    """A raw/ upload in `env`; returns the bucket and key."""
    bucket = sandbox.outputs("storage", env)["bucket_name"]
    key = f"raw/{dataset}/{unique('batch')}.json"
    sandbox.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(records).encode())
    return bucket, key


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_valid_upload_is_validated_queued_and_processed(sandbox: DeployedSandbox, env: str, dataset: str) -> None:
    dynamodb, table = sandbox.client("dynamodb"), sandbox.outputs("storage", env)["metadata_table_name"]
    # GIVEN a file whose every record matches the dataset's schema
    records = [{"order_id": "o-1", "amount": 12.5}, {"order_id": "o-2", "amount": 0}]
    # WHEN it is uploaded under raw/
    bucket, key = upload(sandbox, env, dataset, records)
    # THEN its metadata item ends PROCESSED: only a VALID item whose task reached the processor can get there
    item = wait_for_item(dynamodb, table, {"pk": {"S": key}}, lambda i: i["status"] == "PROCESSED")
    assert (item["bucket"], item["dataset"], item["schema"]) == (bucket, dataset, f"schemas/{dataset}.json")
    assert item["record_count"] == len(records) and item["error_count"] == 0 and item["errors"] == []
    assert str(item["checksum"]).startswith("sha256:")
    assert "processed_at" in item and "latency_seconds" in item, item  # set from the task the validator queued


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_invalid_upload_is_recorded_invalid_and_notified(sandbox: DeployedSandbox, env: str, dataset: str) -> None:
    dynamodb, table = sandbox.client("dynamodb"), sandbox.outputs("storage", env)["metadata_table_name"]
    with subscribed(sandbox, sandbox.outputs("notifications", env)["failure_topic_arn"]) as inbox:
        # GIVEN a file with a record that breaks the schema (a negative amount, an order id that is a number)
        records: list[dict[str, Any]] = [{"order_id": "o-1", "amount": 3}, {"order_id": 7, "amount": -1}]
        # WHEN it is uploaded under raw/
        bucket, key = upload(sandbox, env, dataset, records)
        # THEN its metadata item is INVALID, naming what is wrong
        item = wait_for_item(dynamodb, table, {"pk": {"S": key}})
        assert item["status"] == "INVALID", item
        assert item["error_count"] >= 1 and item["errors"], item
        # AND a failure notification for this file arrives on the environment's failure topic
        resource = f"s3://{bucket}/{key}"
        [note] = inbox.wait(lambda n: n.body["resource"] == resource, what=f"for {resource}")
        assert note.attributes == {"outcome": "invalid", "environment": env, "source": "validator"}
        assert note.body["reason"], note.body
    # AND the file is never processed
    final = read_item(dynamodb, table, {"pk": {"S": key}})
    assert final is not None and final["status"] == "INVALID", final
