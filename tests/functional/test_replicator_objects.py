"""Replicator, S3 side: prod config objects reach dev and staging rewritten, copied, deleted, never backwards."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import pytest
import yaml
from botocore.exceptions import ClientError

from pipeline_functions.replicator import ReplicationFailedError, Replicator, ReplicatorSettings
from pipeline_functions.replicator.object_writes import ObjectWriter
from pipeline_functions.replicator.objects import META_ETAG, META_VERSION, ObjectReplicator
from pipeline_functions.shared.targets import AssumeRoleCredentialsProvider

from .conftest import ACCOUNT, bucket_name, emf_metrics, load_event, s3_event, table_name

if TYPE_CHECKING:
    from collections.abc import Callable

    from .conftest import Aws, LambdaContext

# Handlers pass their Lambda context; calling the service directly has none, which only costs this warning.
pytestmark = pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time:UserWarning")

PROD_CONFIG = {
    "input": f"s3://{bucket_name('prod')}/raw/orders/",
    "metadata_table": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table_name('metadata', 'prod')}",
    "alerts": f"arn:aws:sns:us-east-1:{ACCOUNT}:sns-failure-prod-pl01",
    "queue": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/sqs-tasks-prod-pl01",
    "logging": {"level": "INFO", "format": "json"},
}


def make_replicator(aws: Aws, **overrides: str) -> Replicator:
    settings = ReplicatorSettings.from_env(aws.environ(**overrides))
    return Replicator(
        settings,
        s3_client=aws.s3,
        dynamodb_client=aws.dynamodb,
        sns_client=aws.sns,
        sqs_client=aws.sqs,
        credentials_provider=AssumeRoleCredentialsProvider(aws.sts),
    )


def outcomes(result: dict[str, Any]) -> dict[str, str]:
    return {t["environment"]: t["outcome"] for r in result["results"] for t in r["targets"]}


def test_json_config_is_rewritten_for_each_target_with_overlay(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a prod config naming prod's bucket, table, topic and queue
    put = aws.put("config/pipeline.json", json.dumps(PROD_CONFIG), ContentType="application/json")
    # WHEN its Object Created event is replicated
    result = make_replicator(aws).handle(s3_event("config/pipeline.json", **{"version-id": put["VersionId"]}))
    # THEN each replica names only its own environment, with dev's overlay applied
    assert outcomes(result) == {"dev": "replicated", "staging": "replicated"}
    dev = json.loads(aws.read("config/pipeline.json", "dev"))
    staging = json.loads(aws.read("config/pipeline.json", "staging"))
    assert dev["input"] == f"s3://{bucket_name('dev')}/raw/orders/"
    assert dev["metadata_table"].endswith(":table/ddb-metadata-dev-pl01")
    assert dev["alerts"].endswith(":sns-failure-dev-pl01")
    assert dev["queue"].endswith("/sqs-tasks-dev-pl01")
    assert dev["logging"] == {"level": "DEBUG", "format": "json"}
    assert staging["logging"] == {"level": "INFO", "format": "json"}
    assert staging["input"] == f"s3://{bucket_name('staging')}/raw/orders/"
    for env in ("dev", "staging"):
        assert "prod" not in aws.read("config/pipeline.json", env).decode()
        head = aws.s3.head_object(Bucket=bucket_name(env), Key="config/pipeline.json")
        assert head["Metadata"][META_VERSION] == put["VersionId"]
        assert head["Metadata"][META_ETAG] == put["ETag"].strip('"')
        assert head["ContentType"] == "application/json"
    # AND every outcome is notified with filterable attributes, and measured
    sent = aws.notifications("success")
    assert sorted(n["attributes"]["environment"] for n in sent) == ["dev", "staging"]
    assert {n["attributes"]["outcome"] for n in sent} == {"replicated"}
    assert {n["attributes"]["source"] for n in sent} == {"replicator"}
    assert sent[0]["body"]["correlation_id"] == "17793124-05d4-b198-2fde-7ededc63b103"
    metrics = emf_metrics(capsys.readouterr().out)
    succeeded = [m for m in metrics if m["name"] == "ReplicationSucceeded"]
    assert sorted(m["dimensions"]["TargetEnvironment"] for m in succeeded) == ["dev", "staging"]
    assert {m["name"] for m in metrics} >= {"ReplicationLagSeconds", "BytesCopied"}


def test_yaml_config_is_rewritten(aws: Aws) -> None:
    aws.put("config/jobs.yaml", yaml.safe_dump({"bucket": bucket_name("prod"), "table": "ddb-config-prod-pl01"}))
    make_replicator(aws).handle(s3_event("config/jobs.yaml"))
    dev = yaml.safe_load(aws.read("config/jobs.yaml", "dev"))
    assert dev == {"bucket": bucket_name("dev"), "table": "ddb-config-dev-pl01", "logging": {"level": "DEBUG"}}


def test_binary_object_is_copied_byte_for_byte(aws: Aws) -> None:
    payload = bytes(range(256)) * 64 + bucket_name("prod").encode()
    aws.put("schemas/model.bin", payload)
    result = make_replicator(aws).handle(s3_event("schemas/model.bin"))
    assert outcomes(result) == {"dev": "replicated", "staging": "replicated"}
    assert aws.read("schemas/model.bin", "dev") == payload
    assert aws.read("schemas/model.bin", "staging") == payload


def test_unparseable_json_is_refused_written_nowhere_and_dead_lettered(aws: Aws) -> None:
    # GIVEN a prod document that names prod but is not valid JSON, so it cannot be rewritten
    broken = b'{"bucket": "company-data-prod-us-east-1-pl01", '
    aws.put("config/broken.json", broken)
    # WHEN it is replicated
    result = make_replicator(aws).handle(s3_event("config/broken.json", event_id="evt-broken"))
    # THEN no target gets a copy, the change is dead-lettered at once and one `failed` goes out per target
    assert outcomes(result) == {"dev": "refused", "staging": "refused"}
    assert not aws.exists("config/broken.json", "dev") and not aws.exists("config/broken.json", "staging")
    [letter] = aws.dead_letters()
    assert letter["requestContext"]["condition"] == "RefusedChange"
    assert letter["requestPayload"]["id"] == "evt-broken"
    assert "invalid JSON" in letter["responsePayload"]["errorMessage"]
    failed = aws.notifications("failure")
    assert sorted((n["attributes"]["outcome"], n["attributes"]["environment"]) for n in failed) == [
        ("failed", "dev"),
        ("failed", "staging"),
    ]
    assert all(n["body"]["details"]["attempts"] == 1 and n["body"]["details"]["refused"] for n in failed)
    assert aws.notifications("success") == []


@pytest.mark.parametrize("propagate", [True, False])
def test_prod_deletes_are_propagated_only_when_switched_on(aws: Aws, propagate: bool) -> None:
    aws.put("config/old.json", "{}")
    replicator = make_replicator(aws, PROPAGATE_DELETES=str(propagate).lower())
    replicator.handle(s3_event("config/old.json"))
    aws.s3.delete_object(Bucket=bucket_name("prod"), Key="config/old.json")
    result = replicator.handle(s3_event("config/old.json", deleted=True, sequencer="00A1"))
    expected = "deleted" if propagate else "skipped"
    assert outcomes(result) == {"dev": expected, "staging": expected}
    assert aws.exists("config/old.json", "dev") is not propagate


def test_duplicate_delivery_writes_once(aws: Aws) -> None:
    aws.put("config/pipeline.json", json.dumps(PROD_CONFIG))
    replicator = make_replicator(aws)
    event = s3_event("config/pipeline.json", sequencer="00617F08299329D189")
    first = replicator.handle(event)
    second = replicator.handle(event)
    assert first["results"][0]["duplicate"] is False
    assert second["results"][0]["duplicate"] is True
    versions = aws.s3.list_object_versions(Bucket=bucket_name("dev"), Prefix="config/pipeline.json")["Versions"]
    assert len(versions) == 1
    assert len(aws.notifications("success")) == 2  # one per target, none for the duplicate


def test_an_older_event_arriving_after_a_newer_one_changes_nothing(aws: Aws) -> None:
    replicator = make_replicator(aws)
    v1 = aws.put("config/pipeline.json", json.dumps({"version": 1}))
    v2 = aws.put("config/pipeline.json", json.dumps({"version": 2}))
    newer = replicator.handle(s3_event("config/pipeline.json", **{"version-id": v2["VersionId"], "sequencer": "02"}))
    older = replicator.handle(s3_event("config/pipeline.json", **{"version-id": v1["VersionId"], "sequencer": "01"}))
    assert outcomes(newer) == {"dev": "replicated", "staging": "replicated"}
    assert outcomes(older) == {"dev": "skipped", "staging": "skipped"}
    assert json.loads(aws.read("config/pipeline.json", "dev"))["version"] == 2
    versions = aws.s3.list_object_versions(Bucket=bucket_name("dev"), Prefix="config/pipeline.json")["Versions"]
    assert len(versions) == 1


def test_a_replica_recording_a_newer_source_is_never_overwritten(aws: Aws) -> None:
    aws.put("config/pipeline.json", json.dumps({"version": 1}))
    aws.put(
        "config/pipeline.json",
        json.dumps({"version": 9}),
        env="dev",
        Metadata={"source-last-modified": "2999-01-01T00:00:00Z", "source-etag": "x", "source-version-id": "y"},
    )
    result = make_replicator(aws).handle(s3_event("config/pipeline.json"))
    assert outcomes(result)["dev"] == "skipped"
    assert "go backwards" in result["results"][0]["targets"][0]["reason"]
    assert json.loads(aws.read("config/pipeline.json", "dev"))["version"] == 9


@pytest.mark.parametrize(
    "key",
    ["config/with space.json", "config/a+b=c.json", "config/ünïcödé-日本.json", "config/literal%41percent.json"],
)
def test_keys_with_spaces_plus_unicode_and_percent_replicate(aws: Aws, key: str) -> None:
    put = aws.put(key, json.dumps({"bucket": bucket_name("prod")}))
    replicator = make_replicator(aws)
    # EventBridge delivers the key verbatim ...
    replicator.handle(s3_event(key, sequencer="01"))
    assert json.loads(aws.read(key, "dev")) == {"bucket": bucket_name("dev"), "logging": {"level": "DEBUG"}}
    # ... and a relay that URL-encoded it (S3 notification style) still resolves to the same object by ETag.
    aws.s3.delete_object(Bucket=bucket_name("dev"), Key=key)
    encoded = quote_plus(key, safe="/")
    result = replicator.handle(s3_event(encoded, sequencer="02", etag=put["ETag"].strip('"')))
    assert result["results"][0]["resource"].endswith(key)
    assert aws.exists(key, "dev")


def test_an_object_deleted_before_replication_removes_the_stale_replica(aws: Aws) -> None:
    aws.put("config/gone.json", "{}")
    aws.put("config/gone.json", "{}", env="dev")
    aws.s3.delete_object(Bucket=bucket_name("prod"), Key="config/gone.json")
    result = make_replicator(aws).handle(s3_event("config/gone.json"))
    assert outcomes(result) == {"dev": "deleted", "staging": "skipped"}
    assert not aws.exists("config/gone.json", "dev")


def test_a_missing_target_bucket_is_retried_then_dead_lettered_with_one_failed_notification(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.put("config/pipeline.json", "{}")
    aws.s3.delete_bucket(Bucket=bucket_name("staging"))
    replicator = make_replicator(aws)
    event = s3_event("config/pipeline.json", event_id="evt-retry")
    # WHEN Lambda runs its first two attempts, each raises so Lambda retries, and says `retrying`
    for _ in range(2):
        with pytest.raises(ReplicationFailedError, match=r"staging failed .*NoSuchBucket"):
            replicator.handle(event)
    assert aws.exists("config/pipeline.json", "dev")  # the healthy target was still written
    retrying = aws.notifications("failure")
    assert [(n["attributes"]["outcome"], n["body"]["details"]["attempts"]) for n in retrying] == [
        ("retrying", 1),
        ("retrying", 2),
    ]
    # AND the last attempt dead-letters the change itself and sends one `failed` naming the attempts
    result = replicator.handle(event)
    assert result["dead_lettered"][0]["attempts"] == 3
    [final] = aws.notifications("failure")
    assert (final["attributes"]["outcome"], final["attributes"]["environment"]) == ("failed", "staging")
    assert final["body"]["details"]["attempts"] == 3 and "NoSuchBucket" in final["body"]["reason"]
    [letter] = aws.dead_letters()
    assert (letter["requestContext"]["condition"], letter["requestContext"]["approximateInvokeCount"]) == (
        "RetriesExhausted",
        3,
    )
    metrics = [m["name"] for m in emf_metrics(capsys.readouterr().out) if m["name"].startswith("Replication")]
    assert metrics.count("ReplicationRetrying") == 2 and metrics.count("ReplicationFailed") == 1


def test_an_on_failure_destination_record_is_redriven(aws: Aws) -> None:
    aws.put("config/pipeline.json", json.dumps({"bucket": bucket_name("prod")}))
    result = make_replicator(aws).handle(load_event("replicator_on_failure.json"))
    assert outcomes(result) == {"dev": "replicated", "staging": "replicated"}
    assert result["results"][0]["event_id"] == "5b1c3e1e-4c8e-3a4c-9c59-1b1f0c6d3e77"


def test_a_list_of_events_is_processed_in_order(aws: Aws) -> None:
    aws.put("config/a.json", "{}")
    aws.put("config/b.json", "{}")
    result = make_replicator(aws).handle([s3_event("config/a.json", sequencer="1"), s3_event("config/b.json")])
    assert [r["resource"].rsplit("/", 1)[1] for r in result["results"]] == ["a.json", "b.json"]


def test_keys_outside_the_replicated_prefixes_are_skipped(aws: Aws) -> None:
    aws.put("raw/orders/x.json", "{}")
    result = make_replicator(aws).handle(s3_event("raw/orders/x.json"))
    assert outcomes(result) == {"dev": "skipped", "staging": "skipped"}
    assert not aws.exists("raw/orders/x.json", "dev")


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "id": "e1"}, "unknown event"),
        ({"source": "aws.s3", "detail-type": "Object Created", "id": "e2", "detail": {}}, "detail.object.key"),
        ("not even an object", "expected a JSON object"),
    ],
)
def test_malformed_and_unknown_events_are_rejected_notified_and_dead_lettered(
    aws: Aws, event: Any, reason: str
) -> None:
    result = make_replicator(aws).handle(event)
    rejected = aws.notifications("failure")
    assert [n["attributes"]["outcome"] for n in rejected] == ["rejected"]
    assert reason in rejected[0]["body"]["reason"]
    [letter] = aws.dead_letters()
    assert letter["requestPayload"] == event and letter["requestContext"]["condition"] == "RejectedRecord"
    assert result["dead_lettered"][0]["condition"] == "RejectedRecord"


def test_events_from_another_bucket_are_rejected(aws: Aws) -> None:
    event = s3_event("config/pipeline.json")
    event["detail"]["bucket"]["name"] = bucket_name("dev")
    result = make_replicator(aws).handle(event)
    assert "replicates 'company-data-prod" in result["dead_lettered"][0]["reason"]


def test_without_a_dead_letter_queue_a_rejected_record_fails_the_invocation(aws: Aws) -> None:
    with pytest.raises(ReplicationFailedError, match="unknown event source"):
        make_replicator(aws, DEAD_LETTER_QUEUE_URL="").handle({"source": "aws.ec2", "id": "e1"})


def test_lambda_handler_reads_its_configuration_from_the_environment(
    aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline_functions.replicator import handler

    for name, value in aws.environ().items():
        monkeypatch.setenv(name, value)
    handler.service.reset()
    aws.put("config/pipeline.json", json.dumps(PROD_CONFIG))
    try:
        result = handler.lambda_handler(s3_event("config/pipeline.json"), context)
    finally:
        handler.service.reset()
    assert outcomes(result) == {"dev": "replicated", "staging": "replicated"}


def before_replica_writes(
    monkeypatch: pytest.MonkeyPatch, action: Callable[[], None], *, times: int | None = 1
) -> None:
    """Run `action` just before a replica is written, after the replicator has read prod: before the first
    `times` writes, or before every one (None). It stands for another invocation or a prod write landing
    while this invocation's write is in flight."""
    original = ObjectWriter.put
    left = [times]

    def put(self: ObjectWriter, *args: Any, **kwargs: Any) -> None:
        if left[0] is None or left[0] > 0:
            left[0] = None if left[0] is None else left[0] - 1
            action()
        original(self, *args, **kwargs)

    monkeypatch.setattr(ObjectWriter, "put", put)


def test_a_delete_handled_while_an_earlier_put_is_being_written_leaves_no_replica(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a put's replication that has read prod and is about to write dev's replica (a slow, throttled write)
    put = aws.put("config/raced.json", json.dumps(PROD_CONFIG))
    writer, deleter = make_replicator(aws), make_replicator(aws)
    interleaved: list[dict[str, Any]] = []

    def delete_and_handle_it() -> None:
        # WHEN prod deletes the object and another invocation handles that delete before the write lands
        aws.s3.delete_object(Bucket=bucket_name("prod"), Key="config/raced.json")
        interleaved.append(deleter.handle(s3_event("config/raced.json", deleted=True, sequencer="02")))

    before_replica_writes(monkeypatch, delete_and_handle_it)
    result = writer.handle(s3_event("config/raced.json", sequencer="01", **{"version-id": put["VersionId"]}))
    # THEN the delete found nothing to remove yet, and the put's own check of prod after writing removes the
    # replica it wrote: no target keeps an object prod no longer has, and the outcome says so
    assert outcomes(interleaved[0]) == {"dev": "skipped", "staging": "skipped"}
    assert not aws.exists("config/raced.json", "dev")
    assert not aws.exists("config/raced.json", "staging")
    assert outcomes(result) == {"dev": "deleted", "staging": "deleted"}
    assert all("changed while" in t["reason"] for t in result["results"][0]["targets"])


def test_an_overwrite_landing_while_the_older_version_is_written_ends_with_the_newer_replica(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a put's replication about to write the older version's replica
    aws.put("config/raced.json", json.dumps({"version": 1}))
    replicator = make_replicator(aws)
    # WHEN prod is overwritten before that write lands (its own event is still on its way)
    before_replica_writes(monkeypatch, lambda: aws.put("config/raced.json", json.dumps({"version": 2})))
    result = replicator.handle(s3_event("config/raced.json", sequencer="01"))
    # THEN the replicas end with prod's newer version, not the one first read
    assert json.loads(aws.read("config/raced.json", "dev"))["version"] == 2
    assert json.loads(aws.read("config/raced.json", "staging"))["version"] == 2
    assert outcomes(result) == {"dev": "replicated", "staging": "replicated"}


def test_a_replica_that_cannot_be_checked_against_prod_after_writing_is_retried_not_reported_done(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN prod's object, and prod's S3 failing the read made after the replicas are written
    aws.put("config/unconfirmed.json", json.dumps(PROD_CONFIG))
    replicator = make_replicator(aws)

    def read_fails(self: ObjectReplicator, key: str) -> None:
        raise ClientError({"Error": {"Code": "InternalError", "Message": "We encountered an internal error"}}, "Head")

    monkeypatch.setattr(ObjectReplicator, "current", read_fails)
    # WHEN the change is handled
    # THEN the invocation fails so Lambda retries it, and no success is notified for it
    with pytest.raises(ReplicationFailedError, match="reading the prod object again after writing failed"):
        replicator.handle(s3_event("config/unconfirmed.json", sequencer="01"))
    assert aws.notifications("success") == []
    assert [n["body"]["outcome"] for n in aws.notifications("failure")] == ["retrying", "retrying"]


def test_an_object_that_keeps_changing_while_it_is_written_is_left_to_a_retry(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN prod's object overwritten again during every replica write
    aws.put("config/busy.json", json.dumps({"version": 0}))
    replicator = make_replicator(aws)
    versions = iter(range(1, 100))
    before_replica_writes(
        monkeypatch, lambda: aws.put("config/busy.json", json.dumps({"version": next(versions)})), times=None
    )
    # WHEN the change is handled
    # THEN it is not reported done: the invocation fails so Lambda retries it
    with pytest.raises(ReplicationFailedError, match="changed 3 times while it was replicated"):
        replicator.handle(s3_event("config/busy.json", sequencer="01"))
    assert aws.notifications("success") == []
