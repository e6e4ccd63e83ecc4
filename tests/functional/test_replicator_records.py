"""Replicator, one record at a time: a bad record never sinks its batch, and replays get one honest attempt."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_functions.replicator import ReplicationFailedError

from .conftest import bucket_name, item_event, load_event, s3_event
from .test_replicator_objects import make_replicator, outcomes

if TYPE_CHECKING:
    from .conftest import Aws

pytestmark = pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time:UserWarning")


def notification_record(key: str | None, request_id: str) -> dict[str, Any]:
    record = copy.deepcopy(load_event("s3_notification_record.json")["Records"][0])
    record["s3"]["bucket"]["name"] = bucket_name("prod")
    record["responseElements"]["x-amz-request-id"] = request_id
    record["s3"]["object"]["sequencer"] = request_id
    if key is None:
        del record["s3"]["object"]["key"]
    else:
        record["s3"]["object"]["key"] = key
    return record


def test_a_record_without_a_key_is_rejected_alone_and_the_good_records_replicate(aws: Aws) -> None:
    # GIVEN an S3 notification batch with two good records around one that has no key
    aws.put("config/a.json", "{}")
    aws.put("config/b.json", "{}")
    batch = {
        "Records": [
            notification_record("config/a.json", "REQ-A"),
            notification_record(None, "REQ-BAD"),
            notification_record("config/b.json", "REQ-B"),
        ]
    }
    # WHEN the batch is handled
    result = make_replicator(aws).handle(batch)
    # THEN both good records replicate, and the invocation succeeds
    assert aws.exists("config/a.json", "dev") and aws.exists("config/b.json", "staging")
    assert [r["resource"].rsplit("/", 1)[1] for r in result["results"]] == ["a.json", "b.json"]
    # AND the bad one gets one `rejected` notification naming its event id and the reason
    [rejected] = aws.notifications("failure")
    assert rejected["attributes"]["outcome"] == "rejected"
    assert rejected["body"]["correlation_id"] == "REQ-BAD"
    assert "s3.object.key" in rejected["body"]["reason"]
    # AND only that record is dead-lettered, in a shape that replays on its own
    [letter] = aws.dead_letters()
    assert letter["requestPayload"] == {"Records": [batch["Records"][1]]}
    assert result["dead_lettered"] == [
        {
            "event_id": "REQ-BAD",
            "condition": "RejectedRecord",
            "attempts": 1,
            "error": "UnsupportedEventError",
            "reason": rejected["body"]["reason"],
        }
    ]


def test_a_bad_stream_event_among_good_ones_is_rejected_alone(aws: Aws, caplog: pytest.LogCaptureFixture) -> None:
    aws.dynamodb.put_item(TableName="ddb-config-prod-pl01", Item={"pk": {"S": "p"}, "sk": {"S": "s"}, "v": {"S": "1"}})
    broken = item_event("p", "s", 2, event_id="evt-broken")
    del broken["detail"]["dynamodb"]["Keys"]
    result = make_replicator(aws).handle([item_event("p", "s", 1), broken])
    assert outcomes(result) == {"dev": "replicated", "staging": "replicated"}
    [letter] = aws.dead_letters()
    assert letter["requestPayload"]["detail"]["eventID"] == "evt-broken"
    rejected = [vars(record) for record in caplog.records if record.getMessage() == "event rejected"]
    assert [(r["event_id"], r["outcome"]) for r in rejected] == [("evt-broken", "rejected")]
    assert "dynamodb.Keys" in rejected[0]["reason"]


def test_a_redriven_refusal_succeeds_once_prod_is_fixed(aws: Aws) -> None:
    # GIVEN a change refused because prod's document was broken
    aws.put("config/pipeline.json", b'{"broken": ')
    replicator = make_replicator(aws)
    replicator.handle(s3_event("config/pipeline.json", event_id="evt-1", sequencer="01"))
    [letter] = aws.dead_letters()
    aws.notifications("failure")
    # WHEN prod is fixed and the dead letter is replayed as `pipeline-infra redrive` replays it
    aws.put("config/pipeline.json", json.dumps({"bucket": bucket_name("prod")}))
    result = replicator.handle(letter)
    # THEN the replicas are written, rewritten, and nothing is dead-lettered again
    assert outcomes(result) == {"dev": "replicated", "staging": "replicated"}
    assert json.loads(aws.read("config/pipeline.json", "dev"))["bucket"] == bucket_name("dev")
    assert result["dead_lettered"] == [] and aws.dead_letters() == []


def test_a_redriven_record_that_fails_again_is_final_at_once(aws: Aws) -> None:
    aws.put("config/pipeline.json", "{}")
    aws.s3.delete_bucket(Bucket=bucket_name("staging"))
    replayed = {
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": s3_event("config/pipeline.json", event_id="evt-9"),
    }
    result = make_replicator(aws).handle(replayed)
    assert result["dead_lettered"][0]["attempts"] == 4
    [failed] = aws.notifications("failure")
    assert failed["attributes"]["outcome"] == "failed" and failed["body"]["details"]["attempts"] == 4
    [letter] = aws.dead_letters()
    assert letter["requestContext"]["approximateInvokeCount"] == 4
    assert letter["requestPayload"]["id"] == "evt-9"


def test_success_notifications_keep_their_attributes(aws: Aws) -> None:
    aws.put("config/pipeline.json", "{}")
    make_replicator(aws).handle(s3_event("config/pipeline.json"))
    sent = aws.notifications("success")
    assert sorted(n["attributes"]["environment"] for n in sent) == ["dev", "staging"]
    assert {n["attributes"]["outcome"] for n in sent} == {"replicated"}
    assert {n["attributes"]["source"] for n in sent} == {"replicator"}


def test_a_retried_invocation_does_not_reject_its_bad_record_twice(aws: Aws) -> None:
    # GIVEN a batch with a change that staging cannot take yet, and a record with no key
    aws.put("config/a.json", "{}")
    aws.s3.delete_bucket(Bucket=bucket_name("staging"))
    batch = {"Records": [notification_record("config/a.json", "REQ-A"), notification_record(None, "REQ-BAD")]}
    replicator = make_replicator(aws)
    # WHEN Lambda runs it three times (two retries for the good change's sake)
    for _ in range(2):
        with pytest.raises(ReplicationFailedError):
            replicator.handle(batch)
    replicator.handle(batch)
    # THEN the bad record was rejected and dead-lettered once, the good change dead-lettered once at the end
    failures = aws.notifications("failure")
    assert [n["attributes"]["outcome"] for n in failures].count("rejected") == 1
    letters = aws.dead_letters()
    assert sorted(letter["requestContext"]["condition"] for letter in letters) == ["RejectedRecord", "RetriesExhausted"]
