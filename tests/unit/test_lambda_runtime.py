"""The local Lambda runtime's own logic, without an emulator: what it reads, and the AWS shapes it produces."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.engine.harness import StackOutputsStore
from pipeline_infra_tools.operations.redrive import failed_function, original_event
from pipeline_infra_tools.sandbox.lambda_runtime.async_invoke import destination_record, queue_url
from pipeline_infra_tools.sandbox.lambda_runtime.deployment import Deployment, FunctionSpec, PipeSpec
from pipeline_infra_tools.sandbox.lambda_runtime.functions import Invocation
from pipeline_infra_tools.sandbox.lambda_runtime.sources import PipeReader, failed_message_ids

if TYPE_CHECKING:
    from pathlib import Path

SPEC = FunctionSpec(
    name="lambda-replicator-prod-pl01",
    arn="arn:aws:lambda:us-east-1:123456789012:function:lambda-replicator-prod-pl01",
    handler="pipeline_functions.replicator.handler.lambda_handler",
    role_arn="arn:aws:iam::123456789012:role/iam-replicator-prod-pl01",
    code_path="/nowhere.zip",
    timeout_seconds=300,
    memory_mb=1024,
    environment={},
    region="us-east-1",
)


def test_partial_batch_failures_fail_only_the_listed_messages() -> None:
    batch = {"a", "b", "c"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, batch) == {"b"}
    assert failed_message_ids({"batchItemFailures": []}, batch) == set()
    assert failed_message_ids(None, batch) == set()


def test_an_unknown_or_malformed_failure_fails_the_whole_batch() -> None:
    batch = {"a", "b"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, batch) == batch
    assert failed_message_ids({"batchItemFailures": [{"id": "a"}]}, batch) == batch


def test_on_failure_record_has_lambdas_shape_and_round_trips_through_redrive() -> None:
    event = {"id": "e-1", "detail-type": "Object Created", "detail": {"object": {"key": "config/a.json"}}}
    failure = Invocation(SPEC.name, "req-1", False, error_type="ClientError", error_message="NoSuchBucket")
    record = destination_record(SPEC, event, 3, failure)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"] == f"{SPEC.arn}:$LATEST"
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"] == {"errorType": "ClientError", "errorMessage": "NoSuchBucket"}
    assert original_event(json.dumps(record)) == (event, 3)
    assert failed_function(json.dumps(record)) == SPEC.name, "redrive replays it through the function that failed"
    # EventBridge's own DLQ holds the bare event, replayed through the rule's target.
    assert original_event(json.dumps(event)) == (event, 0)
    assert failed_function(json.dumps(event)) is None


def test_queue_urls_come_from_arns() -> None:
    assert queue_url("arn:aws:sqs:us-east-1:123456789012:sqs-x", "http://127.0.0.1:5000") == (
        "http://127.0.0.1:5000/123456789012/sqs-x"
    )


class FakeStreams:
    """Two tables' streams that share shard ids, as the emulator's do."""

    def __init__(self, records: dict[str, list[dict[str, Any]]]) -> None:
        self.records = records
        self.iterators_asked: list[tuple[str, str, str]] = []

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": "shardId-1"}]}}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str) -> dict[str, str]:
        self.iterators_asked.append((StreamArn, ShardId, ShardIteratorType))
        return {"ShardIterator": f"{StreamArn}|0"}

    def get_records(self, ShardIterator: str) -> dict[str, Any]:
        stream, position = ShardIterator.split("|")
        records = self.records[stream][int(position) :]
        return {"Records": records, "NextShardIterator": f"{stream}|{int(position) + len(records)}"}


class FakeEvents:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.sent.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i, _ in enumerate(Entries)]}


class FakeRoles:
    """The Pipe's role: the stream and bus clients it acts with, and whether it was asked for the Pipe's role."""

    def __init__(self, streams: FakeStreams, events: FakeEvents) -> None:
        self.by_service = {"dynamodbstreams": streams, "events": events}
        self.asked: set[tuple[str, str]] = set()
        self.regions: set[str | None] = set()

    def client(self, role_arn: str, service: str, aws_service: str, region: str | None = None) -> Any:
        self.asked.add((role_arn, service))
        self.regions.add(region)
        return self.by_service[aws_service]

    def refused(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("nothing is refused here")

    def succeeded(self, *args: Any) -> None:
        return None


class FakePipes:
    def __init__(self, created: datetime) -> None:
        self.created = created

    def describe_pipe(self, Name: str) -> dict[str, Any]:
        return {"CreationTime": self.created}


PIPE_ROLE = "arn:aws:iam::1:role/iam-config-pipe-prod-pl01"


def record(sequence: str, at: datetime) -> dict[str, Any]:
    return {"eventName": "INSERT", "dynamodb": {"SequenceNumber": sequence, "ApproximateCreationDateTime": at}}


def pipe(stream: str) -> PipeSpec:
    return PipeSpec(
        "pipe-config", "arn:aws:pipes:us-east-1:1:pipe/pipe-config", PIPE_ROLE, stream, "bus-arn", "src", "Changed", []
    )


def test_pipe_reader_delivers_changes_made_after_the_pipe_was_created() -> None:
    created = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    streams = FakeStreams(
        {"old": [record("1", created - timedelta(minutes=5)), record("2", created + timedelta(seconds=1))]}
    )
    events = FakeEvents()
    roles = FakeRoles(streams, events)
    reader = PipeReader(roles, lambda _arn: FakePipes(created))  # type: ignore[arg-type]
    assert reader.poll([pipe("old")]) == 1
    assert roles.asked == {(PIPE_ROLE, "pipes.amazonaws.com")}, "a Pipe reads and puts with its own role only"
    [sent] = events.sent
    assert json.loads(sent["Detail"])["dynamodb"]["SequenceNumber"] == "2"
    assert sent["Source"] == "src" and sent["DetailType"] == "Changed"


def test_a_pipe_in_another_account_and_region_reads_and_puts_there() -> None:
    created = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    stream = "arn:aws:dynamodb:us-west-1:222222222222:table/ddb-config-staging-pl01/stream/2026"
    streams = FakeStreams({stream: [record("3", created + timedelta(seconds=1))]})
    events, asked_for = FakeEvents(), []
    roles = FakeRoles(streams, events)
    spec = PipeSpec(
        "pipe-config",
        "arn:aws:pipes:us-west-1:222222222222:pipe/pipe-config",
        PIPE_ROLE,
        stream,
        "arn:aws:events:us-west-1:222222222222:event-bus/bus",
        "src",
        "Changed",
        [],
    )
    reader = PipeReader(roles, lambda arn: asked_for.append(arn) or FakePipes(created))  # type: ignore[arg-type]
    assert reader.poll([spec]) == 1
    # The stream is read and the bus written in the Pipe's own region, the Pipe described in its own account.
    assert roles.regions == {"us-west-1"}
    assert set(asked_for) == {spec.arn}


def test_pipe_reader_reads_a_recreated_tables_stream_from_its_start() -> None:
    created = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = created + timedelta(seconds=5)
    streams = FakeStreams({"old": [record("1", later)], "new": [record("7", later)]})
    events = FakeEvents()
    reader = PipeReader(FakeRoles(streams, events), lambda _arn: FakePipes(created))  # type: ignore[arg-type]
    reader.poll([pipe("old")])
    # WHEN the table (and so its stream) is replaced, with the same shard id
    reader.poll([pipe("new")])
    # THEN the new stream is read from its first record, not from the old stream's position
    assert [json.loads(e["Detail"])["dynamodb"]["SequenceNumber"] for e in events.sent] == ["1", "7"]
    assert [(s, t) for s, _, t in streams.iterators_asked] == [("old", "TRIM_HORIZON"), ("new", "TRIM_HORIZON")]


def test_deployment_is_read_from_the_saved_stacks(rendered: dict, tmp_path: Path) -> None:
    store = StackOutputsStore(tmp_path)
    for stack in rendered.values():
        store.save(stack.result)
    deployment = Deployment.load(tmp_path)
    assert len(deployment.functions) == 8
    replicator = deployment.functions["lambda-replicator-prod-pl01"]
    assert replicator.handler == "pipeline_functions.replicator.handler.lambda_handler"
    assert replicator.timeout_seconds == 300
    assert json.loads(replicator.environment["REPLICATION_TARGETS"])[0]["environment"] == "dev"
    assert deployment.async_config(replicator.name).on_failure_arn.endswith(":sqs-replication-dlq-prod-pl01")  # type: ignore[union-attr]
    lambda_rules = {rule.name for rule in deployment.lambda_rules()}
    assert {"rule-s3-changes-prod-pl01", "rule-config-changes-prod-pl01", "rule-raw-uploads-dev-pl01"} <= lambda_rules
    for rule in deployment.lambda_rules():
        for target in rule.targets:
            function = deployment.function_by_arn(target.arn)
            assert function is not None, (rule.name, target.arn)
        assert deployment.rule_by_arn(rule.arn) == rule
    [pipe_spec] = deployment.pipes
    assert pipe_spec.source == "pipeline-infra.config-table"
    assert {m.function_name for m in deployment.mappings} == {
        f"lambda-task-processor-{e}-pl01" for e in ("dev", "staging", "prod")
    }
    assert all(m.reports_item_failures for m in deployment.mappings)
