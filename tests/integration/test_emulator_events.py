"""The emulator sends S3 events as AWS does: one event per change, each with its own id and a growing sequencer."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.helpers import admit_rule, unique, wait_for

if TYPE_CHECKING:
    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration


def _events(sqs: Any, queue_url: str, count: int) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []

    def probe() -> list[dict[str, Any]] | None:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return received if len(received) >= count else None

    return wait_for(probe, f"{count} S3 events")


def test_s3_events_are_one_per_change_with_their_own_ids(sandbox: DeployedSandbox) -> None:
    s3, sqs, events = sandbox.client("s3"), sandbox.client("sqs"), sandbox.client("events")
    # GIVEN a bucket of this test's own that sends its events to EventBridge, and a rule that catches them
    name = unique("emulator-events")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}})
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["aws.s3"], "detail": {"bucket": {"name": [name]}}}
    admit_rule(sqs, queue_url, queue_arn, events.put_rule(Name=name, EventPattern=json.dumps(pattern))["RuleArn"])
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    try:
        # WHEN an object is written twice, then tagged
        s3.put_object(Bucket=name, Key="a.json", Body=b"1")
        s3.put_object(Bucket=name, Key="a.json", Body=b"2")
        s3.put_object_tagging(Bucket=name, Key="a.json", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
        received = _events(sqs, queue_url, 3)
        # THEN there is one event per change, and no tagging event for the writes
        assert [e["detail-type"] for e in received] == ["Object Created", "Object Created", "Object Tags Added"]
        # AND each event has its own id, and later changes have larger sequencers
        assert len({e["id"] for e in received}) == 3
        sequencers = [e["detail"]["object"]["sequencer"] for e in received]
        assert sequencers == sorted(sequencers) and len(set(sequencers)) == 3
        assert sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", []) == []
    finally:
        events.remove_targets(Rule=name, Ids=["queue"])
        events.delete_rule(Name=name)
        sqs.delete_queue(QueueUrl=queue_url)
        for version in s3.list_object_versions(Bucket=name).get("Versions", []):
            s3.delete_object(Bucket=name, Key=version["Key"], VersionId=version["VersionId"])
        s3.delete_bucket(Bucket=name)
